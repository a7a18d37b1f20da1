// Copyright 2026 The keel Authors. Licensed under the Apache License, Version 2.0.
//
// The message_queue tool's commands. Each takes the arguments after its name.
#ifndef KEEL_EXAMPLES_MESSAGE_QUEUE_TOOL_H_
#define KEEL_EXAMPLES_MESSAGE_QUEUE_TOOL_H_

namespace keel::examples {

int Produce(int argc, char** argv);
int Consume(int argc, char** argv);
int Serve(int argc, char** argv);
int Demo(int argc, char** argv);

}  // namespace keel::examples

#endif  // KEEL_EXAMPLES_MESSAGE_QUEUE_TOOL_H_
