#include "pipeline/windows.h"

#include <set>

namespace streams::pipeline {
namespace {

int64_t floor_to(int64_t value, int64_t step) {
  int64_t q = value / step;
  if (value % step != 0 && value < 0) --q;
  return q * step;
}

}  // namespace

Windows::Windows(const operators::ReduceSettings& s, bool grouped, WindowOps& ops)
    : by_time_(s.window.by_time),
      size_(s.window.size),
      slide_(s.window.slide),
      panes_per_window_(s.window.size / s.window.slide),
      lateness_ms_(s.allowed_lateness_ms),
      idle_flush_ms_(s.idle_flush_ms),
      grouped_(grouped),
      ops_(ops) {}

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
  ops_.hold(input);
  ++holds_;
  return &*group.panes.insert(group.panes.begin() + static_cast<ptrdiff_t>(at), std::move(pane));
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
  const std::string_view name = key ? std::string_view(*key) : std::string_view();
  auto it = groups_.find(name);
  Status status = Status::ok;
  if (!by_time_) {
    if (it == groups_.end()) it = groups_.emplace(std::string(name), Group()).first;
    Group& group = it->second;
    Pane* pane = group.panes.empty() || group.panes.back().count == slide_
                     ? open_pane(group, group.panes.size(), 0, input, &status)
                     : &group.panes.back();
    if (!pane || (status = add_to(*pane, record)) != Status::ok) return status;
    group.pending = true;
    if (pane->count < slide_ || static_cast<int64_t>(group.panes.size()) < panes_per_window_) {
      return Status::ok;
    }
    status = emit(it->first, group.panes, 0, group.panes.size(), pane->last_timestamp);
    group.pending = false;
    drop_front(group);
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
  it->second.pending = true;
  if (timestamp_ms > max_timestamp_) max_timestamp_ = timestamp_ms;
  return close_until(floor_to(max_timestamp_ - lateness_ms_, slide_));
}

Status Windows::emit(const std::string& key, const std::deque<Pane>& panes, size_t first,
                     size_t end, int64_t timestamp_ms) {
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

void Windows::drop_front(Group& group) {
  ops_.release(group.panes.front().first);
  --holds_;
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
    while (!group.panes.empty() && group.panes.front().start + size_ <= limit) drop_front(group);
    it = group.panes.empty() ? groups_.erase(it) : std::next(it);
  }
  return status == Status::fatal ? status : Status::ok;
}

Status Windows::close_all() {
  int64_t limit = INT64_MIN;
  for (const auto& entry : groups_) {
    for (const Pane& pane : entry.second.panes) limit = std::max(limit, pane.start + size_);
  }
  return groups_.empty() ? Status::ok : close_until(limit);
}

Status Windows::tick(int64_t now_ms) {
  if (!by_time_ || idle_flush_ms_ <= 0 || groups_.empty()) return Status::ok;
  if (now_ms - last_input_ms_ < idle_flush_ms_) return Status::ok;
  return close_all();
}

Status Windows::finish() {
  if (by_time_) return close_all();
  for (auto& entry : groups_) {
    Group& group = entry.second;
    if (group.pending) {
      const Status status =
          emit(entry.first, group.panes, 0, group.panes.size(), group.panes.back().last_timestamp);
      if (status == Status::fatal) return status;
    }
    while (!group.panes.empty()) drop_front(group);
  }
  groups_.clear();
  return Status::ok;
}

}  // namespace streams::pipeline
