#include "pipeline/windows.h"

#include <cstring>
#include <set>

#include "common/log.h"

namespace streams::pipeline {
namespace {

int64_t floor_to(int64_t value, int64_t step) {
  int64_t q = value / step;
  if (value % step != 0 && value < 0) --q;
  return q * step;
}

// The store's entries (state-backed windows). Integers are 64-bit little
// endian unless said otherwise.
//   "m": version 1, by_time (1 byte), size, slide, the highest event time
//        seen, the watermark every window before is closed at.
//   'p', group length (32-bit big endian), group, pane start (big endian,
//        sign bit flipped, so keys sort by start): count, last timestamp,
//        highest event time, first input's offset, the group's pending flag
//        (1 byte; the last pane's counts), the accumulator.
constexpr std::string_view kMetaKey = "m";
constexpr size_t kMetaSize = 34;
constexpr size_t kPaneHeader = 33;

void put64(std::string* out, int64_t v) {
  char b[8];
  std::memcpy(b, &v, 8);
  out->append(b, 8);
}

int64_t get64(const char* p) {
  int64_t v;
  std::memcpy(&v, p, 8);
  return v;
}

uint64_t get_be(const char* p, int bytes) {
  uint64_t v = 0;
  for (int i = 0; i < bytes; ++i) v = v << 8 | static_cast<uint8_t>(p[i]);
  return v;
}

constexpr uint64_t kSignBit = uint64_t{1} << 63;

}  // namespace

Windows::Windows(const operators::ReduceSettings& s, bool grouped, WindowOps& ops, PaneStore* store)
    : by_time_(s.window.by_time),
      size_(s.window.size),
      slide_(s.window.slide),
      panes_per_window_(s.window.size / s.window.slide),
      lateness_ms_(s.allowed_lateness_ms),
      idle_flush_ms_(s.idle_flush_ms),
      grouped_(grouped),
      ops_(ops),
      store_(store) {}

const std::string& Windows::pane_key(const std::string& group, int64_t start) {
  key_.assign(1, 'p');
  const auto n = static_cast<uint32_t>(group.size());
  for (int i = 3; i >= 0; --i) key_.push_back(static_cast<char>(n >> (8 * i)));
  key_.append(group);
  const uint64_t ordered = static_cast<uint64_t>(start) ^ kSignBit;
  for (int i = 7; i >= 0; --i) key_.push_back(static_cast<char>(ordered >> (8 * i)));
  return key_;
}

void Windows::save_meta() {
  value_.assign(1, '\x01');
  value_.push_back(by_time_ ? 1 : 0);
  put64(&value_, size_);
  put64(&value_, slide_);
  put64(&value_, max_timestamp_);
  put64(&value_, closed_until_);
  store_->put(kMetaKey, value_);
  meta_saved_ = true;
}

void Windows::save(const std::string& group, const Pane& pane, bool pending) {
  if (!meta_saved_) save_meta();
  value_.clear();
  put64(&value_, pane.count);
  put64(&value_, pane.last_timestamp);
  put64(&value_, pane.max_event);
  put64(&value_, pane.first.origin.offset);
  value_.push_back(pending ? 1 : 0);
  value_.append(pane.acc);
  store_->put(pane_key(group, pane.start), value_);
}

Status Windows::load() {
  loaded_ = true;
  std::string meta;
  bool found = false;
  if (!store_->get(kMetaKey, &meta, &found)) return Status::fatal;
  bool same = !found;
  if (found && meta.size() == kMetaSize && meta[0] == 1) {
    same = (meta[1] != 0) == by_time_ && get64(&meta[2]) == size_ && get64(&meta[10]) == slide_;
    if (same) {
      max_timestamp_ = get64(&meta[18]);
      closed_until_ = get64(&meta[26]);
    }
  }
  struct Loading {
    Windows& w;
    bool corrupt = false;
  } loading{*this};
  auto visit = [](void* ctx, std::string_view key, std::string_view value) {
    Loading& l = *static_cast<Loading*>(ctx);
    const size_t group_size = key.size() >= 5 ? get_be(key.data() + 1, 4) : 0;
    if (key.size() != 13 + group_size || value.size() < kPaneHeader) {
      l.corrupt = true;
      return false;
    }
    Group& group = l.w.groups_[std::string(key.substr(5, group_size))];
    Pane& pane = group.panes.emplace_back();
    pane.start = static_cast<int64_t>(get_be(key.data() + 5 + group_size, 8) ^ kSignBit);
    pane.count = get64(value.data());
    pane.last_timestamp = get64(value.data() + 8);
    pane.max_event = get64(value.data() + 16);
    pane.first.origin = l.w.store_->origin(get64(value.data() + 24));
    group.pending = value[32] != 0;
    pane.acc.assign(value.substr(kPaneHeader));
    l.w.max_timestamp_ = std::max(l.w.max_timestamp_, pane.max_event);
    return true;
  };
  if (!store_->scan("p", visit, &loading)) return Status::fatal;
  if (loading.corrupt) {
    log::error("state: a window pane entry of the step's store is not one this host wrote");
    return Status::fatal;
  }
  meta_saved_ = found && same;
  if (!same) return emit_foreign();
  if (by_time_ && max_timestamp_ != INT64_MIN) {
    closed_until_ = std::max(closed_until_, floor_to(max_timestamp_ - lateness_ms_, slide_));
  }
  return Status::ok;
}

// Panes kept under other window settings: each group's are one window.
Status Windows::emit_foreign() {
  if (!groups_.empty()) {
    log::warn(
        "state: the step's stored windows were opened under other window settings; each "
        "group's open panes are emitted as one window");
  }
  for (auto& entry : groups_) {
    Group& group = entry.second;
    int64_t timestamp = -1;
    for (const Pane& pane : group.panes) timestamp = std::max(timestamp, pane.last_timestamp);
    const Status status = emit(entry.first, group.panes, 0, group.panes.size(), timestamp);
    if (status == Status::fatal) return status;
    while (!group.panes.empty()) drop_front(entry.first, group);
  }
  groups_.clear();
  max_timestamp_ = closed_until_ = INT64_MIN;
  save_meta();
  return Status::ok;
}

const std::string* Windows::key_of(const Groups::value_type& entry) const {
  return grouped_ ? &entry.first : nullptr;
}

Status Windows::add_to(Pane& pane, const streams_record& record) {
  const Status status = ops_.add(pane.acc, record, &scratch_);
  if (status != Status::ok) return status;
  pane.acc.swap(scratch_);
  ++pane.count;
  pane.last_timestamp = record.timestamp_ms;
  return Status::ok;
}

Windows::Pane* Windows::open_pane(Group& group, size_t at, int64_t start, const HeldInput& input,
                                  Status* status) {
  Pane pane;
  pane.start = start;
  pane.first = input;
  *status = ops_.init(&pane.acc);
  if (*status != Status::ok) return nullptr;
  if (!store_) {
    ops_.hold(input);
    ++holds_;
  }
  return &group.panes.insert(at, std::move(pane));
}

Windows::Pane* Windows::time_pane(Group& group, int64_t start, const HeldInput& input,
                                  Status* status) {
  size_t at = group.panes.size();
  while (at > 0 && group.panes[at - 1].start > start) --at;
  if (at > 0 && group.panes[at - 1].start == start) return &group.panes[at - 1];
  return open_pane(group, at, start, input, status);
}

Status Windows::add(const std::string* key, const streams_record& record, int64_t timestamp_ms,
                    const HeldInput& input, int64_t now_ms, std::string* late) {
  last_input_ms_ = now_ms;
  Status status = load_if_ready();
  if (status != Status::ok) return status;
  const std::string_view name = key ? std::string_view(*key) : std::string_view();
  auto it = groups_.find(name);
  if (!by_time_) {
    if (it == groups_.end()) it = groups_.emplace(std::string(name), Group()).first;
    Group& group = it->second;
    Pane* pane =
        group.panes.empty() || group.panes.back().count == slide_
            ? open_pane(group, group.panes.size(),
                        group.panes.empty() ? 0 : group.panes.back().start + 1, input, &status)
            : &group.panes.back();
    if (!pane || (status = add_to(*pane, record)) != Status::ok) return status;
    group.pending = true;
    if (pane->count < slide_ || static_cast<int64_t>(group.panes.size()) < panes_per_window_) {
      if (store_) save(it->first, *pane, true);
      return Status::ok;
    }
    status = emit(it->first, group.panes, 0, group.panes.size(), pane->last_timestamp);
    group.pending = false;
    drop_front(it->first, group);
    if (store_ && !group.panes.empty()) save(it->first, group.panes.back(), false);
    return status == Status::fatal ? status : Status::ok;  // window errors are reported
  }
  const int64_t start = floor_to(timestamp_ms, slide_);
  if (start + size_ <= closed_until_) {
    *late = "late: event time " + std::to_string(timestamp_ms) +
            " falls only in windows that closed at watermark " + std::to_string(closed_until_);
    return Status::reported;
  }
  if (it == groups_.end()) it = groups_.emplace(std::string(name), Group()).first;
  Pane* pane = time_pane(it->second, start, input, &status);
  if (!pane || (status = add_to(*pane, record)) != Status::ok) return status;
  pane->max_event = std::max(pane->max_event, timestamp_ms);
  if (store_) save(it->first, *pane, true);
  it->second.pending = true;
  if (timestamp_ms > max_timestamp_) max_timestamp_ = timestamp_ms;
  return close_until(floor_to(max_timestamp_ - lateness_ms_, slide_));
}

Status Windows::emit(const std::string& key, const PaneQueue<Pane>& panes, size_t first, size_t end,
                     int64_t timestamp_ms) {
  size_t oldest = first;  // the pane holding the lowest offset
  int64_t records = 0;
  for (size_t i = first; i < end; ++i) {
    records += panes[i].count;
    if (panes[i].first.origin.offset < panes[oldest].first.origin.offset) oldest = i;
  }
  if (records == 0) return Status::ok;  // only panes whose records all failed
  std::string_view acc = panes[first].acc;
  if (end - first > 1) {
    merged_ = panes[first].acc;
    for (size_t i = first + 1; i < end; ++i) {
      const Status status = ops_.merge(merged_, panes[i].acc, &scratch_);
      if (status != Status::ok) return status;
      merged_.swap(scratch_);
    }
    acc = merged_;
  }
  return ops_.result(acc, grouped_ ? &key : nullptr, timestamp_ms, panes[oldest].first);
}

void Windows::drop_front(const std::string& name, Group& group) {
  if (store_) {
    store_->erase(pane_key(name, group.panes.front().start));
  } else {
    ops_.release(group.panes.front().first);
    --holds_;
  }
  group.panes.pop_front();
}

Status Windows::close_until(int64_t limit) {
  if (limit <= closed_until_) return Status::ok;
  std::set<int64_t> ends;  // window ends in (closed_until_, limit] with records
  for (const auto& entry : groups_) {
    for (const Pane& pane : entry.second.panes) {
      for (int64_t e = pane.start + slide_; e <= pane.start + size_; e += slide_) {
        if (e > closed_until_ && e <= limit) ends.insert(e);
      }
    }
  }
  Status status = Status::ok;
  for (int64_t end : ends) {
    for (auto& entry : groups_) {
      const auto& panes = entry.second.panes;
      size_t first = 0;
      while (first < panes.size() && panes[first].start < end - size_) ++first;
      size_t last = first;
      while (last < panes.size() && panes[last].start < end) ++last;
      if (first == last) continue;
      const Status s = emit(entry.first, panes, first, last, end - 1);
      if (s == Status::fatal) return s;
      if (s != Status::ok) status = s;
    }
  }
  closed_until_ = limit;
  for (auto it = groups_.begin(); it != groups_.end();) {
    Group& group = it->second;
    while (!group.panes.empty() && group.panes.front().start + size_ <= limit) {
      drop_front(it->first, group);
    }
    it = group.panes.empty() ? groups_.erase(it) : std::next(it);
  }
  return status == Status::fatal ? status : Status::ok;
}

Status Windows::close_all() {
  int64_t limit = INT64_MIN;
  for (const auto& entry : groups_) {
    for (const Pane& pane : entry.second.panes) limit = std::max(limit, pane.start + size_);
  }
  if (groups_.empty()) return Status::ok;
  const Status status = close_until(limit);
  if (store_) save_meta();  // the watermark no pane says any more
  return status;
}

Status Windows::tick(int64_t now_ms) {
  if (!by_time_ || idle_flush_ms_ <= 0) return Status::ok;
  if (store_ && !loaded_) {
    if (!store_->ready()) return Status::ok;
    if (const Status status = load(); status != Status::ok) return status;
    last_input_ms_ = now_ms;  // a restarted host waits idle_flush_ms again
  }
  if (groups_.empty() || now_ms - last_input_ms_ < idle_flush_ms_) return Status::ok;
  if (store_ && !store_->ready()) return Status::ok;  // emitted with an input or a stand-in
  return close_all();
}

Status Windows::finish() {
  if (store_) {
    if (!store_->ready()) return Status::ok;
    if (const Status status = load_if_ready(); status != Status::ok) return status;
  }
  if (by_time_) return close_all();
  for (auto& entry : groups_) {
    Group& group = entry.second;
    if (group.pending) {
      const Status status =
          emit(entry.first, group.panes, 0, group.panes.size(), group.panes.back().last_timestamp);
      if (status == Status::fatal) return status;
    }
    while (!group.panes.empty()) drop_front(entry.first, group);
  }
  groups_.clear();
  return Status::ok;
}

}  // namespace streams::pipeline
