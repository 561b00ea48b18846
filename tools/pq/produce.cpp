// put: jobs in, from an argument, a file or stdin, one job or one per NDJSON line, and their ids out.
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <istream>
#include <span>
#include <streambuf>

#include "command.hpp"

namespace pq_cli {

namespace {

// Jobs per put_many statement when reading NDJSON: large batches are fast, and memory stays bounded.
constexpr std::size_t kBatch = 10'000;

/// A stream buffer on a file descriptor that keeps the read error, where std::cin would take it for the end
/// of the input and std::ifstream throw libstdc++'s own text.
class FdBuffer : public std::streambuf {
 public:
  explicit FdBuffer(int fd) : fd_(fd) {}
  void use(int fd) noexcept { fd_ = fd; }
  /// The errno of the read that failed, or 0.
  [[nodiscard]] auto error() const noexcept -> int { return error_; }

 protected:
  auto underflow() -> int_type override {
    while (error_ == 0) {
      const auto got = ::read(fd_, buffer_.data(), buffer_.size());
      if (got > 0) {
        setg(buffer_.data(), buffer_.data(), buffer_.data() + got);
        return traits_type::to_int_type(buffer_[0]);
      }
      if (got == 0) break;
      if (errno != EINTR) error_ = errno;
    }
    return traits_type::eof();
  }

 private:
  int fd_;
  int error_ = 0;
  std::array<char, 65536> buffer_{};
};

/// The input of put: a file, or stdin for none or "-".
class Input {
 public:
  explicit Input(const std::optional<std::string>& path) {
    if (!path || *path == "-") {
      if (::isatty(STDIN_FILENO) != 0) fmt::print(stderr, "pq: reading JSON from stdin; end it with Ctrl-D\n");
      return;
    }
    name_ = fmt::format("'{}'", cell(*path));
    fd_ = ::open(path->c_str(), O_RDONLY | O_CLOEXEC);
    if (fd_ < 0) throw pq::UsageError(fmt::format("cannot read {}: {}", name_, std::strerror(errno)));
    buffer_.use(fd_);
    struct stat status {};
    if (::fstat(fd_, &status) == 0 && S_ISDIR(status.st_mode)) {
      ::close(fd_);
      throw pq::UsageError(fmt::format("cannot read {}: it is a directory", name_));
    }
    if (S_ISREG(status.st_mode)) size_ = static_cast<std::size_t>(status.st_size);
  }
  Input(const Input&) = delete;
  auto operator=(const Input&) -> Input& = delete;
  ~Input() {
    if (fd_ != STDIN_FILENO) ::close(fd_);
  }

  auto stream() -> std::istream& { return stream_; }
  /// Bytes in the input, when it is a regular file.
  [[nodiscard]] auto size() const -> std::optional<std::size_t> { return size_; }

  /// Throws when a read failed, so that an unreadable input is not taken for an empty or a short one.
  void check() const {
    if (buffer_.error() != 0) {
      throw pq::UsageError(fmt::format("cannot read {}: {}", name_, std::strerror(buffer_.error())));
    }
  }

  /// The whole input, refused as soon as it holds more than `limit` bytes, so that memory stays bounded.
  auto read_all(std::size_t limit) -> std::string {
    std::string text;
    std::array<char, 65536> chunk{};
    while (stream_.read(chunk.data(), chunk.size()) || stream_.gcount() > 0) {
      text.append(chunk.data(), static_cast<std::size_t>(stream_.gcount()));
      if (text.size() > limit) {
        throw pq::UsageError(fmt::format("{} holds more than {} bytes, the limit for one job "
                                         "(ConnectionOptions::max_payload)", name_, limit));
      }
    }
    check();
    return text;
  }

 private:
  std::string name_ = "stdin";
  int fd_ = STDIN_FILENO;
  FdBuffer buffer_{STDIN_FILENO};
  std::istream stream_{&buffer_};
  std::optional<std::size_t> size_;
};

/// A one-line progress report on stderr, drawn only when a person watches it.
class Progress {
 public:
  explicit Progress(std::optional<std::size_t> total_bytes)
      : shown_(::isatty(STDERR_FILENO) != 0), total_(total_bytes) {}
  Progress(const Progress&) = delete;
  auto operator=(const Progress&) -> Progress& = delete;
  ~Progress() {
    if (shown_) fmt::print(stderr, "\r\x1b[K");
  }

  void update(std::size_t jobs, std::size_t bytes) const {
    if (!shown_) return;
    if (total_ && *total_ > 0) {
      const auto percent = std::min<std::size_t>(100, bytes * 100 / *total_);
      const auto filled = percent * 30 / 100;
      fmt::print(stderr, "\r[{}{}] {:3}%  {}", std::string(filled, '#'), std::string(30 - filled, ' '), percent,
                 jobs_count(static_cast<std::int64_t>(jobs)));
    } else {
      fmt::print(stderr, "\r{}", jobs_count(static_cast<std::int64_t>(jobs)));
    }
    std::fflush(stderr);
  }

 private:
  bool shown_;
  std::optional<std::size_t> total_;
};

void print_ids(std::span<const std::int64_t> ids, bool json) {
  std::string out;
  for (auto id : ids) out += json ? JsonLine().add("id", id).finish() : fmt::format("{}\n", id);
  std::fwrite(out.data(), 1, out.size(), stdout);
}

/// Puts in one transaction that commits only once the ids are out: when they cannot be written, nothing
/// is put, rather than jobs nobody knows the ids of.
template <class PutAll>
auto put_and_print(Context& ctx, PutAll&& put_all) -> int {
  auto tx = ctx.pq().begin();
  print_ids(put_all(tx), ctx.json());
  flush_output();
  tx.commit();
  return kOk;
}

/// One transaction around every batch: all lines or none, so a bad line 90,000 leaves nothing half done.
auto put_ndjson(Context& ctx, pq::Queue& queue, const pq::PutOptions& options, Input& input) -> int {
  try {
    return put_and_print(ctx, [&](pq::Transaction& tx) {
      std::vector<std::int64_t> ids;
      pq::NdjsonReader reader(input.stream(), kBatch, ctx.pq().options().max_payload);
      const Progress progress(input.size());
      for (auto batch = reader.next(); !batch.empty(); batch = reader.next()) {
        auto batch_ids = queue.put_many(tx, batch, options);
        ids.insert(ids.end(), batch_ids.begin(), batch_ids.end());
        progress.update(ids.size(), reader.bytes());
      }
      input.check();
      return ids;
    });
  } catch (const pq::JsonError& error) {
    throw pq::JsonError(fmt::format("{}; no job was put", error.what()), error.offset());
  } catch (const pq::UsageError& error) {
    throw pq::UsageError(fmt::format("{}; no job was put", error.what()));
  } catch (const OutputError& error) {
    throw OutputError(fmt::format("{}; no job was put", error.what()));
  }
}

}  // namespace

auto run_put(Context& ctx) -> int {
  auto queue = ctx.pq()[ctx.required("queue", "a QUEUE")];
  pq::PutOptions options;
  if (auto at = ctx.text("at")) options.schedule_at = pq::parse_when(*at);
  if (auto expected = ctx.text("expected")) options.expected_at = pq::parse_when(*expected);
  if (auto priority = ctx.text("priority")) options.priority = parse_integer<int>("--priority", *priority);
  if (auto attempts = ctx.text("max-attempts")) options.max_attempts = parse_integer<int>("--max-attempts", *attempts);
  if (auto kind = ctx.text("kind")) options.kind = *kind;
  const auto json = ctx.text("json-text");
  if (json && ctx.has("file")) throw pq::UsageError("give the job as an argument or with --file, not both");
  if (json && ctx.has("ndjson")) throw pq::UsageError("--ndjson reads its jobs from --file or stdin, not an argument");
  std::string text;
  if (json) {
    text = *json;
  } else {
    Input input(ctx.text("file"));
    if (ctx.has("ndjson")) return put_ndjson(ctx, queue, options, input);
    text = input.read_all(ctx.pq().options().max_payload);
  }
  try {
    return put_and_print(ctx, [&](pq::Transaction& tx) { return std::array{queue.put(tx, text, options)}; });
  } catch (const OutputError& error) {
    throw OutputError(fmt::format("{}; the job was not put", error.what()));
  }
}

}  // namespace pq_cli
