// What command-line programs built on pq share with pq's own: keeping a password out of `ps`, and messages
// of one line.
#pragma once

#include <string>
#include <string_view>

namespace pq {

/// An error message as one line for a terminal or a log: lines joined with "; ", typographic quotes made
/// plain, and any other control character or invalid UTF-8 escaped ("\x1b"), so that no input can forge
/// output.
[[nodiscard]] auto one_line(std::string_view text) -> std::string;

/// Overwrites with '*', in place, the password that a `--db URL` or `--db=URL` argument carries (a URI's
/// `user:PASSWORD@` or `?password=`, or a `password=...` of a key=value connection string), so that other
/// local users do not see it in `ps` or /proc/PID/cmdline. Call it once the arguments are parsed into
/// strings of their own: it changes the strings of argv. Other arguments are left alone.
void hide_password_in_argv(int argc, char** argv);

}  // namespace pq
