// A process-wide request to stop training early, for callers that catch a signal themselves
// (the Python module's Ctrl-C). The offline loop checks it after every step: it checkpoints,
// returns, and the run is recorded as stopped, so `--resume` continues it. The CLI installs no
// handler: there Ctrl-C ends the process and the last checkpoint is where a resume starts.
#pragma once

namespace stitch {

// Async-signal-safe (one lock-free atomic store).
void request_stop();
bool stop_requested();
void clear_stop_request();

}  // namespace stitch
