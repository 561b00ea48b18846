// What command-line programs built on pq share with pq's own: keeping a password out of `ps`.
#pragma once

namespace pq {

/// Overwrites with '*', in place, the password that a `--db URL` or `--db=URL` argument carries (a URI's
/// `user:PASSWORD@` or `?password=`, or a `password=...` of a key=value connection string), so that other
/// local users do not see it in `ps` or /proc/PID/cmdline. Call it once the arguments are parsed into
/// strings of their own: it changes the strings of argv. Other arguments are left alone.
void hide_password_in_argv(int argc, char** argv);

}  // namespace pq
