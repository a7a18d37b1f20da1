// Copyright 2026 The keel Authors. Licensed under the Apache License, Version 2.0.
//
// MIT 6.5840's Raft test battery (labs 3A to 3D, spring 2025), every test with its thresholds,
// run against keel::raft in the deterministic simulator. The steps and numbers follow the lab's
// raft_test.go; the harness (tester.h) follows its test.go. Each test runs once per CI run with a
// fixed seed; KEEL_RAFT_BATTERY_ROUNDS=N runs each over N seeds from KEEL_TEST_SEED (or the
// default) on.
//
// What differs from the lab, and why:
//   - Time is virtual, so the lab's wall-clock bounds (an election within 5 seconds, agreement
//     within 10) hold exactly, not within a machine's scheduling noise.
//   - Raft messages are one-way, as on a real network. An RPC in the lab's counts is a request
//     message (a request and its response are one RPC); bytes count every message, both ways.
//   - Indexes are command indexes: keel's leaders append an empty entry when elected (section 8
//     of the paper), which the lab's numbering does not have.
#include <atomic>
#include <set>
#include <vector>

#include "doctest/doctest.h"
#include "raft/tester.h"
#include "testing/testing.h"

namespace keel::raft::testing {
namespace {

// Runs `body` once per round with its own seed, printed on failure.
template <typename Body>
void ForEachSeed(uint64_t default_seed, Body body) {
  const uint64_t seed = keel::testing::TestSeed(default_seed);
  const uint64_t rounds = keel::testing::TestRounds("KEEL_RAFT_BATTERY_ROUNDS", 1);
  for (uint64_t round = 0; round < rounds; ++round) {
    const uint64_t run_seed = seed + round;
    CAPTURE(run_seed);
    body(run_seed);
  }
}

std::string Cmd(uint64_t value) { return std::to_string(value); }

TEST_CASE("3A initial election") {
  ForEachSeed(301, [](uint64_t seed) {
    Tester ts(3, true, false, seed);
    ts.CheckOneLeader();
    // Let followers learn of the election, then check that all agree on the term.
    ts.Sleep(50 * kMillis);
    const uint64_t term1 = ts.CheckTerms();
    CHECK(term1 >= 1);
    // The leader and term stay the same without failures.
    ts.Sleep(2 * kElectionTimeout);
    const uint64_t term2 = ts.CheckTerms();
    CHECK_MESSAGE(term1 == term2, "term changed even though there were no failures");
    ts.CheckOneLeader();
    ts.CheckSafety();
  });
}

TEST_CASE("3A re-election after network failure") {
  ForEachSeed(302, [](uint64_t seed) {
    const int servers = 3;
    Tester ts(servers, true, false, seed);
    const int leader1 = ts.CheckOneLeader();
    // If the leader disconnects, a new one is elected.
    ts.DisconnectAll(leader1);
    ts.CheckOneLeader();
    // The old leader rejoining does not disturb the new leader.
    ts.ConnectOne(leader1);
    const int leader2 = ts.CheckOneLeader();
    // Without a quorum no leader is elected.
    ts.DisconnectAll(leader2);
    ts.DisconnectAll((leader2 + 1) % servers);
    ts.Sleep(2 * kElectionTimeout);
    ts.CheckNoLeader();
    // A quorum elects a leader.
    ts.ConnectOne((leader2 + 1) % servers);
    ts.CheckOneLeader();
    // The last node rejoining does not prevent a leader.
    ts.ConnectOne(leader2);
    ts.CheckOneLeader();
    ts.CheckSafety();
  });
}

TEST_CASE("3A many elections") {
  ForEachSeed(303, [](uint64_t seed) {
    const int servers = 7;
    Tester ts(servers, true, false, seed);
    ts.CheckOneLeader();
    for (int iteration = 1; iteration < 10; ++iteration) {
      const int i1 = static_cast<int>(ts.RandInt() % servers);
      const int i2 = static_cast<int>(ts.RandInt() % servers);
      const int i3 = static_cast<int>(ts.RandInt() % servers);
      ts.DisconnectAll(i1);
      ts.DisconnectAll(i2);
      ts.DisconnectAll(i3);
      // Either the current leader is still alive, or the remaining four elect a new one.
      ts.CheckOneLeader();
      ts.ConnectOne(i1);
      ts.ConnectOne(i2);
      ts.ConnectOne(i3);
    }
    ts.CheckOneLeader();
    ts.CheckSafety();
  });
}

TEST_CASE("3B basic agreement") {
  ForEachSeed(311, [](uint64_t seed) {
    const int servers = 3;
    Tester ts(servers, true, false, seed);
    for (uint64_t index = 1; index < 4; ++index) {
      CHECK_MESSAGE(ts.NCommitted(index).first == 0, "some have committed before Start()");
      const uint64_t xindex = ts.One(Cmd(index * 100), servers, false);
      CHECK(xindex == index);
    }
  });
}

TEST_CASE("3B RPC byte count") {
  ForEachSeed(312, [](uint64_t seed) {
    const int servers = 3;
    Tester ts(servers, true, false, seed);
    ts.One("99", servers, false);
    const uint64_t bytes0 = ts.sim().BytesTotal();
    uint64_t sent = 0;
    for (uint64_t index = 2; index < 12; ++index) {
      std::string command(5000, 'x');
      for (char& c : command) c = static_cast<char>('a' + ts.RandInt() % 26);
      CHECK(ts.One(command, servers, false) == index);
      sent += command.size();
    }
    const uint64_t got = ts.sim().BytesTotal() - bytes0;
    const uint64_t expected = servers * sent;
    CHECK_MESSAGE(got <= expected + 50000, "too many RPC bytes; got ", got, ", expected ",
                  expected);
  });
}

TEST_CASE("3B progressive failure of followers") {
  ForEachSeed(313, [](uint64_t seed) {
    const int servers = 3;
    Tester ts(servers, true, false, seed);
    ts.One("101", servers, false);
    // Disconnect one follower: the leader and the other follower agree.
    const int leader1 = ts.CheckOneLeader();
    ts.DisconnectAll((leader1 + 1) % servers);
    ts.One("102", servers - 1, false);
    ts.Sleep(kElectionTimeout);
    ts.One("103", servers - 1, false);
    // Disconnect the remaining follower.
    const int leader2 = ts.CheckOneLeader();
    ts.DisconnectAll((leader2 + 1) % servers);
    ts.DisconnectAll((leader2 + 2) % servers);
    const StartResult result = ts.Start(leader2, "104");
    REQUIRE_MESSAGE(result.is_leader, "leader rejected Start()");
    CHECK(result.command_index == 4);
    ts.Sleep(2 * kElectionTimeout);
    ts.CheckNoAgreement(result.command_index);
  });
}

TEST_CASE("3B failure of leaders") {
  ForEachSeed(314, [](uint64_t seed) {
    const int servers = 3;
    Tester ts(servers, true, false, seed);
    ts.One("101", servers, false);
    // Disconnect the first leader: the others elect a new one.
    const int leader1 = ts.CheckOneLeader();
    ts.DisconnectAll(leader1);
    ts.One("102", servers - 1, false);
    ts.Sleep(kElectionTimeout);
    ts.One("103", servers - 1, false);
    // Disconnect the new leader, and submit a command to every server.
    const int leader2 = ts.CheckOneLeader();
    ts.DisconnectAll(leader2);
    for (int i = 0; i < servers; ++i) ts.Start(i, "104");
    ts.Sleep(2 * kElectionTimeout);
    ts.CheckNoAgreement(4);
  });
}

TEST_CASE("3B agreement after follower reconnects") {
  ForEachSeed(315, [](uint64_t seed) {
    const int servers = 3;
    Tester ts(servers, true, false, seed);
    ts.One("101", servers, false);
    const int leader = ts.CheckOneLeader();
    ts.DisconnectAll((leader + 1) % servers);
    ts.One("102", servers - 1, false);
    ts.One("103", servers - 1, false);
    ts.Sleep(kElectionTimeout);
    ts.One("104", servers - 1, false);
    ts.One("105", servers - 1, false);
    // Reconnected, the full set keeps earlier agreements and agrees on new commands.
    ts.ConnectOne((leader + 1) % servers);
    ts.One("106", servers, true);
    ts.Sleep(kElectionTimeout);
    ts.One("107", servers, true);
  });
}

TEST_CASE("3B no agreement if too many followers disconnect") {
  ForEachSeed(316, [](uint64_t seed) {
    const int servers = 5;
    Tester ts(servers, true, false, seed);
    ts.One("10", servers, false);
    // 3 of 5 followers disconnect.
    const int leader = ts.CheckOneLeader();
    ts.DisconnectAll((leader + 1) % servers);
    ts.DisconnectAll((leader + 2) % servers);
    ts.DisconnectAll((leader + 3) % servers);
    const StartResult result = ts.Start(leader, "20");
    REQUIRE_MESSAGE(result.is_leader, "leader rejected Start()");
    CHECK(result.command_index == 2);
    ts.Sleep(2 * kElectionTimeout);
    CHECK_MESSAGE(ts.NCommitted(result.command_index).first == 0, "committed but no majority");
    // Repair. The disconnected majority may have chosen a leader among themselves, forgetting
    // index 2.
    ts.ConnectOne((leader + 1) % servers);
    ts.ConnectOne((leader + 2) % servers);
    ts.ConnectOne((leader + 3) % servers);
    const int leader2 = ts.CheckOneLeader();
    const StartResult result2 = ts.Start(leader2, "30");
    REQUIRE_MESSAGE(result2.is_leader, "leader2 rejected Start()");
    CHECK(result2.command_index >= 2);
    CHECK(result2.command_index <= 3);
    ts.One("1000", servers, true);
  });
}

TEST_CASE("3B concurrent Start()s") {
  ForEachSeed(317, [](uint64_t seed) {
    const int servers = 3;
    Tester ts(servers, true, false, seed);
    bool success = false;
    for (int attempt = 0; attempt < 5 && !success; ++attempt) {
      if (attempt > 0) ts.Sleep(3 * kSeconds);  // let the cluster settle
      const int leader = ts.CheckOneLeader();
      const StartResult first = ts.Start(leader, "1");
      if (!first.is_leader) continue;  // the leader moved on
      std::vector<uint64_t> indexes;
      for (int i = 0; i < 5; ++i) {
        const StartResult result = ts.Start(leader, Cmd(100 + i));
        if (result.term == first.term && result.is_leader) indexes.push_back(result.command_index);
      }
      bool term_changed = false;
      for (int j = 0; j < servers; ++j) term_changed |= ts.sim().GetState(j).first != first.term;
      if (term_changed) continue;
      std::set<std::string> commands;
      bool failed = false;
      for (uint64_t index : indexes) {
        const std::optional<std::string> command =
            ts.Wait(index, servers, static_cast<int64_t>(first.term));
        if (!command) {
          failed = true;  // peers moved on to later terms
          break;
        }
        commands.insert(*command);
      }
      if (failed) continue;
      for (int i = 0; i < 5; ++i) {
        CHECK_MESSAGE(commands.contains(Cmd(100 + i)), "cmd ", 100 + i, " missing");
      }
      success = true;
    }
    CHECK_MESSAGE(success, "term changed too often");
    ts.CheckSafety();
  });
}

TEST_CASE("3B rejoin of partitioned leader") {
  ForEachSeed(318, [](uint64_t seed) {
    const int servers = 3;
    Tester ts(servers, true, false, seed);
    ts.One("101", servers, true);
    // The leader's network fails; it tries to agree on some entries.
    const int leader1 = ts.CheckOneLeader();
    ts.DisconnectAll(leader1);
    ts.Start(leader1, "102");
    ts.Start(leader1, "103");
    ts.Start(leader1, "104");
    // The new leader commits, also at index 2.
    ts.One("103", 2, true);
    // The new leader's network fails; the old leader comes back.
    const int leader2 = ts.CheckOneLeader();
    ts.DisconnectAll(leader2);
    ts.ConnectOne(leader1);
    ts.One("104", 2, true);
    // All together now.
    ts.ConnectOne(leader2);
    ts.One("105", servers, true);
  });
}

TEST_CASE("3B leader backs up quickly over incorrect follower logs") {
  ForEachSeed(319, [](uint64_t seed) {
    const int servers = 5;
    Tester ts(servers, true, false, seed);
    ts.One(ts.RandCommand(), servers, true);
    // The leader and one follower in a partition.
    const int leader1 = ts.CheckOneLeader();
    ts.DisconnectAll((leader1 + 2) % servers);
    ts.DisconnectAll((leader1 + 3) % servers);
    ts.DisconnectAll((leader1 + 4) % servers);
    // Lots of commands that will not commit.
    for (int i = 0; i < 50; ++i) ts.Start(leader1, ts.RandCommand());
    ts.Sleep(kElectionTimeout / 2);
    ts.DisconnectAll((leader1 + 0) % servers);
    ts.DisconnectAll((leader1 + 1) % servers);
    // The other partition recovers and commits lots.
    ts.ConnectOne((leader1 + 2) % servers);
    ts.ConnectOne((leader1 + 3) % servers);
    ts.ConnectOne((leader1 + 4) % servers);
    for (int i = 0; i < 50; ++i) ts.One(ts.RandCommand(), 3, true);
    // Now another partitioned leader and one follower.
    const int leader2 = ts.CheckOneLeader();
    int other = (leader1 + 2) % servers;
    if (leader2 == other) other = (leader2 + 1) % servers;
    ts.DisconnectAll(other);
    // Lots more commands that will not commit.
    for (int i = 0; i < 50; ++i) ts.Start(leader2, ts.RandCommand());
    ts.Sleep(kElectionTimeout / 2);
    // Bring the original leader back to life.
    for (int i = 0; i < servers; ++i) ts.DisconnectAll(i);
    ts.ConnectOne((leader1 + 0) % servers);
    ts.ConnectOne((leader1 + 1) % servers);
    ts.ConnectOne(other);
    for (int i = 0; i < 50; ++i) ts.One(ts.RandCommand(), 3, true);
    // Now everyone.
    for (int i = 0; i < servers; ++i) ts.ConnectOne(i);
    ts.One(ts.RandCommand(), servers, true);
  });
}

TEST_CASE("3B RPC counts are not too high") {
  ForEachSeed(320, [](uint64_t seed) {
    const int servers = 3;
    Tester ts(servers, true, false, seed);
    ts.CheckOneLeader();
    uint64_t total1 = ts.RpcTotal();
    CHECK_MESSAGE((total1 <= 30 && total1 >= 1), "too many or few RPCs (", total1,
                  ") to elect initial leader");
    uint64_t total2 = 0;
    bool success = false;
    for (int attempt = 0; attempt < 5 && !success; ++attempt) {
      if (attempt > 0) ts.Sleep(3 * kSeconds);
      const int leader = ts.CheckOneLeader();
      total1 = ts.RpcTotal();
      const int iters = 10;
      const StartResult first = ts.Start(leader, "1");
      if (!first.is_leader) continue;
      std::vector<std::string> commands;
      bool moved_on = false;
      for (int i = 1; i < iters + 2; ++i) {
        const std::string command = Cmd(ts.RandInt() % (1u << 31));
        commands.push_back(command);
        const StartResult result = ts.Start(leader, command);
        if (result.term != first.term || !result.is_leader) {
          moved_on = true;
          break;
        }
        REQUIRE_MESSAGE(result.command_index == first.command_index + i, "leader ", leader,
                        " adds the command at the wrong index");
      }
      if (moved_on) continue;
      for (int i = 1; i < iters + 1 && !moved_on; ++i) {
        const std::optional<std::string> command =
            ts.Wait(first.command_index + i, servers, static_cast<int64_t>(first.term));
        if (!command) {
          moved_on = true;
          break;
        }
        REQUIRE_MESSAGE(*command == commands[i - 1], "wrong value committed for index ",
                        first.command_index + i);
      }
      if (moved_on) continue;
      total2 = ts.RpcTotal();
      bool term_changed = false;
      for (int j = 0; j < servers; ++j) term_changed |= ts.sim().GetState(j).first != first.term;
      if (term_changed) continue;
      CHECK_MESSAGE(total2 - total1 <= static_cast<uint64_t>((iters + 1 + 3) * 3),
                    "too many RPCs (", total2 - total1, ") for ", iters, " entries");
      success = true;
    }
    REQUIRE_MESSAGE(success, "term changed too often");
    ts.Sleep(kElectionTimeout);
    const uint64_t total3 = ts.RpcTotal();
    CHECK_MESSAGE(total3 - total2 <= 3 * 20, "too many RPCs (", total3 - total2,
                  ") for 1 second of idleness");
    ts.CheckSafety();
  });
}

TEST_CASE("3C basic persistence") {
  ForEachSeed(331, [](uint64_t seed) {
    const int servers = 3;
    Tester ts(servers, true, false, seed);
    ts.One("11", servers, true);
    ts.ShutdownAll();
    ts.StartAll();
    ts.One("12", servers, true);
    const int leader1 = ts.CheckOneLeader();
    ts.ShutdownServer(leader1);
    ts.Restart(leader1);
    ts.One("13", servers, true);
    const int leader2 = ts.CheckOneLeader();
    ts.ShutdownServer(leader2);
    ts.One("14", servers - 1, true);
    ts.Restart(leader2);
    ts.Wait(4, servers, -1);  // wait for leader2 to join before killing i3
    const int i3 = (ts.CheckOneLeader() + 1) % servers;
    ts.ShutdownServer(i3);
    ts.One("15", servers - 1, true);
    ts.Restart(i3);
    ts.One("16", servers, true);
  });
}

TEST_CASE("3C more persistence") {
  ForEachSeed(332, [](uint64_t seed) {
    const int servers = 5;
    Tester ts(servers, true, false, seed);
    uint64_t index = 1;
    for (int iters = 0; iters < 5; ++iters) {
      ts.One(Cmd(10 + index++), servers, true);
      const int leader1 = ts.CheckOneLeader();
      ts.ShutdownServer((leader1 + 1) % servers);
      ts.ShutdownServer((leader1 + 2) % servers);
      ts.One(Cmd(10 + index++), servers - 2, true);
      ts.ShutdownServer((leader1 + 0) % servers);
      ts.ShutdownServer((leader1 + 3) % servers);
      ts.ShutdownServer((leader1 + 4) % servers);
      ts.Restart((leader1 + 1) % servers);
      ts.Restart((leader1 + 2) % servers);
      ts.Sleep(kElectionTimeout);
      ts.Restart((leader1 + 3) % servers);
      ts.One(Cmd(10 + index++), servers - 2, true);
      ts.Restart((leader1 + 4) % servers);
      ts.Restart((leader1 + 0) % servers);
    }
    ts.One("1000", servers, true);
  });
}

TEST_CASE("3C partitioned leader and one follower crash then leader restarts") {
  ForEachSeed(333, [](uint64_t seed) {
    const int servers = 3;
    Tester ts(servers, true, false, seed);
    ts.One("101", 3, true);
    const int leader = ts.CheckOneLeader();
    ts.DisconnectAll((leader + 2) % servers);
    ts.One("102", 2, true);
    ts.ShutdownServer((leader + 0) % servers);
    ts.ShutdownServer((leader + 1) % servers);
    ts.ConnectOne((leader + 2) % servers);
    ts.Restart((leader + 0) % servers);
    ts.One("103", 2, true);
    ts.Restart((leader + 1) % servers);
    ts.One("104", servers, true);
  });
}

// Figure 8 of the extended paper: leaders fail quickly (often before committing), or after a
// while (probably having committed); a new leader may finish replicating an older term's entries
// but must not count them as committed by themselves.
void Figure8(Tester& ts, bool unreliable) {
  const int servers = ts.servers();
  ts.One(Cmd(unreliable ? ts.RandInt() % 10000 : ts.RandInt()), 1, true);
  int up = servers;
  for (int iters = 0; iters < 1000; ++iters) {
    if (unreliable && iters == 200) ts.sim().SetLongReordering(true);
    int leader = -1;
    for (int i = 0; i < servers; ++i) {
      if (!ts.sim().alive(i)) continue;
      const StartResult result = ts.Start(i, Cmd(unreliable ? ts.RandInt() % 10000 : ts.RandInt()));
      if (result.is_leader && (!unreliable || ts.IsConnected(i))) leader = i;
    }
    if (ts.RandInt() % 1000 < 100) {
      ts.Sleep(static_cast<int64_t>(ts.RandInt() % (kElectionTimeout / kMillis / 2)) * kMillis);
    } else {
      ts.Sleep(static_cast<int64_t>(ts.RandInt() % 13) * kMillis);
    }
    if (unreliable) {
      if (leader != -1 &&
          ts.RandInt() % 1000 < static_cast<uint64_t>(kElectionTimeout / kMillis / 2)) {
        ts.DisconnectAll(leader);
        --up;
      }
      if (up < 3) {
        const int s = static_cast<int>(ts.RandInt() % servers);
        if (!ts.IsConnected(s)) {
          ts.ConnectOne(s);
          ++up;
        }
      }
    } else {
      if (leader != -1) {
        ts.ShutdownServer(leader);
        --up;
      }
      if (up < 3) {
        const int s = static_cast<int>(ts.RandInt() % servers);
        if (!ts.sim().alive(s)) {
          ts.Restart(s);
          ++up;
        }
      }
    }
  }
  for (int i = 0; i < servers; ++i) {
    if (unreliable) {
      ts.ConnectOne(i);
    } else if (!ts.sim().alive(i)) {
      ts.Restart(i);
    }
  }
  ts.One(Cmd(unreliable ? ts.RandInt() % 10000 : ts.RandInt()), servers, true);
}

TEST_CASE("3C Figure 8") {
  ForEachSeed(334, [](uint64_t seed) {
    Tester ts(5, true, false, seed);
    Figure8(ts, /*unreliable=*/false);
  });
}

TEST_CASE("3C unreliable agreement") {
  ForEachSeed(335, [](uint64_t seed) {
    const int servers = 5;
    Tester ts(servers, false, false, seed);
    int running = 0;
    int failures = 0;
    for (int iters = 1; iters < 50; ++iters) {
      for (int j = 0; j < 4; ++j) {
        ++running;
        ts.OneAsync(Cmd(100 * iters + j), 1, true, [&](uint64_t index) {
          --running;
          failures += index == 0 ? 1 : 0;
        });
      }
      ts.One(Cmd(iters), 1, true);
    }
    ts.sim().SetReliable(true);
    ts.sim().RunUntil([&] { return running == 0; }, 20 * kSeconds);
    CHECK(running == 0);
    CHECK(failures == 0);
    ts.One("100", servers, true);
  });
}

TEST_CASE("3C Figure 8 unreliable") {
  ForEachSeed(336, [](uint64_t seed) {
    Tester ts(5, false, false, seed);
    Figure8(ts, /*unreliable=*/true);
  });
}

// Three clients submit commands to whoever leads while servers are disconnected, crashed and
// restarted; every command a client saw committed must be in the final log.
void Churn(bool reliable, uint64_t seed) {
  const int servers = 5;
  Tester ts(servers, reliable, false, seed);
  bool stop = false;
  struct Client {
    int me = 0;
    std::vector<std::string> values;
    bool finished = false;
  };
  std::vector<std::shared_ptr<Client>> clients;
  // One iteration of the lab's client loop, as an event chain.
  std::function<void(std::shared_ptr<Client>)> loop = [&](std::shared_ptr<Client> client) {
    if (stop) {
      client->finished = true;
      return;
    }
    const std::string x = Cmd(ts.RandInt());
    uint64_t index = 0;
    for (int i = 0; i < servers; ++i) {
      if (!ts.sim().alive(i)) continue;
      const StartResult result = ts.Start(i, x);
      if (result.is_leader) index = result.command_index;
    }
    if (index == 0) {
      ts.sim().At((79 + client->me * 17) * kMillis, [&loop, client] { loop(client); });
      return;
    }
    // Maybe the leader commits the value, maybe not; do not wait forever.
    // The scheduled retries own the poll; it holds itself only weakly, so that it is freed when
    // the last retry has run (a strong self-reference leaked every poll).
    auto poll = std::make_shared<std::function<void(int)>>();
    *poll = [&ts, &loop, client, x, index, self = std::weak_ptr(poll)](int step) {
      static constexpr int64_t kWaits[] = {10, 20, 50, 100, 200};
      const auto [count, command] = ts.NCommitted(index);
      if (count > 0) {
        if (command == x) client->values.push_back(x);
        loop(client);
        return;
      }
      if (step == 5) {
        loop(client);
        return;
      }
      ts.sim().At(kWaits[step] * kMillis, [poll = self.lock(), step] { (*poll)(step + 1); });
    };
    (*poll)(0);
  };
  for (int i = 0; i < 3; ++i) {
    auto client = std::make_shared<Client>();
    client->me = i;
    clients.push_back(client);
    loop(client);
  }
  for (int iters = 0; iters < 20; ++iters) {
    if (ts.RandInt() % 1000 < 200) ts.DisconnectAll(static_cast<int>(ts.RandInt() % servers));
    if (ts.RandInt() % 1000 < 500) {
      const int i = static_cast<int>(ts.RandInt() % servers);
      if (!ts.sim().alive(i)) ts.Restart(i);
      ts.ConnectOne(i);
    }
    if (ts.RandInt() % 1000 < 200) {
      const int i = static_cast<int>(ts.RandInt() % servers);
      if (ts.sim().alive(i)) ts.ShutdownServer(i);
    }
    // Often enough that peers do not settle, not so often that they never keep up.
    ts.Sleep(kElectionTimeout * 7 / 10);
  }
  ts.Sleep(kElectionTimeout);
  ts.sim().SetReliable(true);
  for (int i = 0; i < servers; ++i) {
    if (!ts.sim().alive(i)) ts.Restart(i);
    ts.ConnectOne(i);
  }
  stop = true;
  ts.sim().RunUntil(
      [&] {
        for (const auto& client : clients) {
          if (!client->finished) return false;
        }
        return true;
      },
      10 * kSeconds);
  for (const auto& client : clients) REQUIRE_MESSAGE(client->finished, "client failed");
  ts.Sleep(kElectionTimeout);
  const uint64_t last_index = ts.One(ts.RandCommand(), servers, true);
  std::set<std::string> really;
  for (uint64_t index = 1; index <= last_index; ++index) {
    const std::optional<std::string> value = ts.Wait(index, servers, -1);
    REQUIRE(value.has_value());
    really.insert(*value);
  }
  for (const auto& client : clients) {
    for (const std::string& value : client->values) {
      CHECK_MESSAGE(really.contains(value), "didn't find a value");
    }
  }
}

TEST_CASE("3C churn") {
  ForEachSeed(337, [](uint64_t seed) { Churn(true, seed); });
}

TEST_CASE("3C unreliable churn") {
  ForEachSeed(338, [](uint64_t seed) { Churn(false, seed); });
}

void SnapCommon(bool disconnect, bool reliable, bool crash, uint64_t seed) {
  const int iters = 30;
  const int servers = 3;
  Tester ts(servers, reliable, true, seed);
  ts.One(ts.RandCommand(), servers, true);
  int leader1 = ts.CheckOneLeader();
  for (int i = 0; i < iters; ++i) {
    int victim = (leader1 + 1) % servers;
    int sender = leader1;
    if (i % 3 == 1) {
      sender = (leader1 + 1) % servers;
      victim = leader1;
    }
    if (disconnect) {
      ts.DisconnectAll(victim);
      ts.One(ts.RandCommand(), servers - 1, true);
    }
    if (crash) {
      ts.ShutdownServer(victim);
      ts.One(ts.RandCommand(), servers - 1, true);
    }
    // Perhaps send enough to get a snapshot.
    const uint64_t nn = kSnapshotInterval / 2 + ts.RandInt() % kSnapshotInterval;
    for (uint64_t k = 0; k < nn; ++k) ts.Start(sender, ts.RandCommand());
    // Let the appliers catch up with the Start()s.
    if (!disconnect && !crash) {
      // All followers caught up, so that no InstallSnapshot is needed in the basic test.
      ts.One(ts.RandCommand(), servers, true);
    } else {
      ts.One(ts.RandCommand(), servers - 1, true);
    }
    REQUIRE_MESSAGE(ts.sim().MaxLogBytes() < kMaxLogSize,
                    "Log size too large: ", ts.sim().MaxLogBytes());
    if (disconnect) {
      // Reconnect a follower, which may be behind and need a snapshot.
      ts.ConnectOne(victim);
      ts.One(ts.RandCommand(), servers, true);
      leader1 = ts.CheckOneLeader();
    }
    if (crash) {
      ts.Restart(victim);
      ts.One(ts.RandCommand(), servers, true);
      leader1 = ts.CheckOneLeader();
    }
  }
}

TEST_CASE("3D snapshots basic") {
  ForEachSeed(341, [](uint64_t seed) { SnapCommon(false, true, false, seed); });
}

TEST_CASE("3D install snapshots (disconnect)") {
  ForEachSeed(342, [](uint64_t seed) { SnapCommon(true, true, false, seed); });
}

TEST_CASE("3D install snapshots (disconnect and unreliable)") {
  ForEachSeed(343, [](uint64_t seed) { SnapCommon(true, false, false, seed); });
}

TEST_CASE("3D install snapshots (crash)") {
  ForEachSeed(344, [](uint64_t seed) { SnapCommon(false, true, true, seed); });
}

TEST_CASE("3D install snapshots (unreliable and crash)") {
  ForEachSeed(345, [](uint64_t seed) { SnapCommon(false, false, true, seed); });
}

TEST_CASE("3D crash and restart all servers") {
  ForEachSeed(346, [](uint64_t seed) {
    const int servers = 3;
    Tester ts(servers, false, true, seed);
    ts.One(ts.RandCommand(), servers, true);
    for (int i = 0; i < 5; ++i) {
      // Perhaps enough to get a snapshot.
      const uint64_t nn = kSnapshotInterval / 2 + ts.RandInt() % kSnapshotInterval;
      for (uint64_t k = 0; k < nn; ++k) ts.One(ts.RandCommand(), servers, true);
      const uint64_t index1 = ts.One(ts.RandCommand(), servers, true);
      ts.ShutdownAll();
      ts.StartAll();
      const uint64_t index2 = ts.One(ts.RandCommand(), servers, true);
      CHECK_MESSAGE(index2 >= index1 + 1, "index decreased from ", index1, " to ", index2);
    }
  });
}

TEST_CASE("3D snapshot initialization after crash") {
  ForEachSeed(347, [](uint64_t seed) {
    const int servers = 3;
    Tester ts(servers, false, true, seed);
    ts.One(ts.RandCommand(), servers, true);
    // Enough commands for a snapshot.
    for (uint64_t i = 0; i < kSnapshotInterval + 1; ++i) ts.One(ts.RandCommand(), servers, true);
    ts.ShutdownAll();
    ts.StartAll();
    // One command, to get something written back to persistent storage.
    ts.One(ts.RandCommand(), servers, true);
    ts.ShutdownAll();
    ts.StartAll();
    // Another, to trigger a potential bug.
    ts.One(ts.RandCommand(), servers, true);
  });
}

}  // namespace
}  // namespace keel::raft::testing
