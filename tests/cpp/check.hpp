// A minimal check harness for the C++ tests (no framework: each test is a small program).
//
// CHECK(cond, message...) records a failure with its file, line and a message built from the
// remaining arguments (streamed), and carries on, so one run lists every failure.
// CHECK_THROWS(expr, Exception, "text") checks that expr throws Exception whose what() contains
// "text". finish("name") prints "name: N passed, M failed" and returns the process exit code.
#pragma once

#include <cstdio>
#include <iostream>
#include <sstream>
#include <string>

namespace densekit::test {

inline long& passed() {
  static long n = 0;
  return n;
}
inline long& failed() {
  static long n = 0;
  return n;
}

template <class... Args>
void record(bool ok, const char* file, int line, const char* expr, const Args&... message) {
  if (ok) {
    ++passed();
    return;
  }
  ++failed();
  std::ostringstream text;
  (text << ... << message);
  std::cerr << file << ":" << line << ": CHECK(" << expr << ") failed";
  if (!text.str().empty()) std::cerr << ": " << text.str();
  std::cerr << "\n";
}

inline int finish(const char* name) {
  std::printf("%s: %ld passed, %ld failed\n", name, passed(), failed());
  return failed() == 0 ? 0 : 1;
}

}  // namespace densekit::test

#define CHECK(cond, ...) ::densekit::test::record(bool(cond), __FILE__, __LINE__, #cond, ##__VA_ARGS__)

#define CHECK_THROWS(expr, Exception, text)                                                 \
  do {                                                                                      \
    std::string caught_;                                                                    \
    bool threw_ = false;                                                                    \
    try {                                                                                   \
      (void)(expr);                                                                         \
    } catch (const Exception& e_) {                                                         \
      threw_ = true;                                                                        \
      caught_ = e_.what();                                                                  \
    }                                                                                       \
    ::densekit::test::record(threw_ && caught_.find(text) != std::string::npos, __FILE__,   \
                             __LINE__, #expr " throws " #Exception,                         \
                             threw_ ? "message was: " + caught_ : std::string("no throw"), \
                             " (expected it to mention \"", text, "\")");                  \
  } while (0)
