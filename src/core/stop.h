// A process-wide request to stop training early, for callers that catch a signal themselves
// (the Python module's Ctrl-C). The run is recorded as stopped and `--resume` continues it:
//   offline loop: after the current step, with a checkpoint;
//   streaming loop: at the end of the current episode, with a checkpoint;
//   online loop: after the current step, without one (the last regular checkpoint stays, so the
//   resumed run equals an uninterrupted one, as after a kill).
// The CLI installs no handler: there Ctrl-C ends the process and the last checkpoint is where a
// resume starts.
#pragma once

namespace stitch {

// Async-signal-safe (one lock-free atomic store).
void request_stop();
bool stop_requested();
void clear_stop_request();

}  // namespace stitch
