// Upper-cases the value and appends '!'.
#include <cctype>
#include <streams/plugin.hpp>
#include <string>

class Shout {
 public:
  streams::Status process(const streams::Record& in, streams::Output& out) {
    buf_.assign(in.value());
    for (auto& c : buf_) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
    buf_.push_back('!');
    return out.emit_value(buf_);
  }

 private:
  std::string buf_;
};

STREAMS_PLUGIN("shout", "0.1.0", streams::map<Shout>("shout"))
