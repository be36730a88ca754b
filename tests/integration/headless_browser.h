// A headless Chromium for tests, driven over the DevTools protocol on a
// pipe (--remote-debugging-pipe: commands go to its fd 3, replies and
// events come from its fd 4, each a JSON message ended by a NUL byte). A
// pipe needs no port and no WebSocket, and lets a test wait for a state of
// the page (a promise in the page resolving) instead of for a duration.
//
// The browser runs with a fresh profile, no sandbox (tests run as root),
// no GPU, and none of its background traffic (component updates, sync,
// QUIC, first-run pings): it talks to nothing but the pages it is sent to.
//
// Thread-compatible: one test thread uses it.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "taskpool/status.hpp"

namespace taskpool::testing {

class HeadlessBrowser {
 public:
  // Starts the Chromium binary at `binary` with its profile, log and
  // crash files in `directory` (which must exist), and waits until it
  // answers, starting it a second time if the first says nothing within a
  // minute. Its viewport is `width` x `height` CSS pixels.
  static Result<std::unique_ptr<HeadlessBrowser>> Start(const std::string& binary,
                                                        const std::string& directory,
                                                        int width = 1280, int height = 900);
  // Closes the browser (Browser.close), waits for it to exit, and kills
  // what is left of its process group (renderers) by the group's id.
  ~HeadlessBrowser();
  HeadlessBrowser(const HeadlessBrowser&) = delete;
  HeadlessBrowser& operator=(const HeadlessBrowser&) = delete;

  // Opens a tab at `url` and waits for its load event.
  Status Open(const std::string& url);

  // Evaluates `expression` in the page; a promise is awaited. Returns its
  // value as JSON, or an error with the exception the page threw, or a
  // timeout after `wait`.
  Result<nlohmann::json> Evaluate(const std::string& expression,
                                  std::chrono::milliseconds wait = std::chrono::seconds(30));

  // A PNG of the whole page (beyond the viewport too).
  Result<std::string> Screenshot();

  // Every URL the page requested, in order.
  const std::vector<std::string>& requested_urls() const { return requested_urls_; }
  // Uncaught exceptions and console errors of the page, one line each.
  const std::vector<std::string>& page_errors() const { return page_errors_; }
  // What Chromium wrote to stderr (for failure messages).
  std::string log() const;
  pid_t pid() const { return pid_; }

 private:
  // One start of the browser, as Start describes; Start tries twice.
  static Result<std::unique_ptr<HeadlessBrowser>> Launch(const std::string& binary,
                                                         const std::string& directory, int width,
                                                         int height);

  HeadlessBrowser(pid_t pid, int commands, int replies, std::string log_path);

  // Sends a command (to the page's session when `to_page`) and waits for
  // its reply; events that arrive meanwhile are recorded.
  Result<nlohmann::json> Call(const std::string& method, nlohmann::json params,
                              bool to_page, std::chrono::milliseconds wait);
  // The next message from the browser, waiting at most until `deadline`.
  Result<nlohmann::json> Receive(std::chrono::steady_clock::time_point deadline);
  void Record(const nlohmann::json& event);
  // Waits until the event `method` has arrived as event number `since` or
  // later, recording the others.
  Status WaitForEvent(const std::string& method, size_t since, std::chrono::milliseconds wait);
  void Stop();

  pid_t pid_;
  int commands_;  // our end of its fd 3
  int replies_;   // our end of its fd 4
  std::string log_path_;
  std::string buffer_;  // bytes read, not yet a whole message
  int next_id_ = 1;
  std::string session_id_;  // the tab's, once Open() attached to it
  std::vector<std::string> events_;  // the method of every event so far
  std::vector<std::string> requested_urls_;
  std::vector<std::string> page_errors_;
};

}  // namespace taskpool::testing
