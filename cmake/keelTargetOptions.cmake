# keel_target_options(<target>)
#
# Applies keel's warning and sanitizer settings to one of keel's own targets. Everything is
# PRIVATE: a project that links keel::keel never inherits keel's warnings or -Werror.
function(keel_target_options target)
  # Standard C++20, not GNU dialect: keel must build with any conforming compiler.
  set_target_properties(${target} PROPERTIES CXX_EXTENSIONS OFF)
  target_compile_options(
    ${target}
    PRIVATE -Wall
            -Wextra
            -Wpedantic
            -Wshadow
            -Wconversion
            -Wnon-virtual-dtor
            -Wold-style-cast
            -Woverloaded-virtual
            -Wimplicit-fallthrough
            -Wformat=2
            -Wundef
            $<$<BOOL:${KEEL_WARNINGS_AS_ERRORS}>:-Werror>)

  if(KEEL_SANITIZE)
    # Abort on the first report, so a sanitizer finding fails the test instead of scrolling past.
    target_compile_options(${target} PRIVATE -fsanitize=${KEEL_SANITIZE} -fno-sanitize-recover=all
                                             -fno-omit-frame-pointer)
    target_link_options(${target} PRIVATE -fsanitize=${KEEL_SANITIZE})
  endif()
endfunction()
