// The Table's containers: KeyIndex (its cache of keys) and Ring (its change log).
#define BOOST_TEST_MODULE state_containers
#include <boost/test/unit_test.hpp>

#include <algorithm>
#include <map>
#include <random>
#include <set>
#include <string>
#include <vector>

#include "state/key_index.h"
#include "state/ring.h"

using streams::state::KeyIndex;
using streams::state::Ring;
using Index = KeyIndex<int>;

namespace {

Index::Node* find(Index& index, const std::string& key) {
  return index.find(key, Index::hash(key));
}

Index::Node& insert(Index& index, const std::string& key, int value) {
  Index::Node& n = index.insert(key, Index::hash(key));
  n.value = value;
  return n;
}

// `count` keys whose home slot in a 16-slot index is `home` (the index has
// 16 slots while it holds at most 8 keys).
std::vector<std::string> keys_at(size_t home, size_t count) {
  std::vector<std::string> out;
  for (int i = 0; out.size() < count; ++i) {
    std::string key = "k" + std::to_string(i);
    if ((Index::hash(key) & 15) == home) out.push_back(key);
  }
  return out;
}

}  // namespace

BOOST_AUTO_TEST_CASE(finds_what_was_inserted_and_nothing_else) {
  Index index;
  BOOST_TEST(!find(index, "a"));
  for (int i = 0; i < 10000; ++i) insert(index, "key-" + std::to_string(i), i);
  BOOST_TEST(index.size() == 10000u);
  for (int i = 0; i < 10000; ++i) {
    Index::Node* n = find(index, "key-" + std::to_string(i));
    BOOST_REQUIRE(n);
    BOOST_TEST(n->value == i);
    BOOST_TEST(n->key == "key-" + std::to_string(i));
  }
  BOOST_TEST(!find(index, "key-10000"));
  BOOST_TEST(!find(index, ""));
}

BOOST_AUTO_TEST_CASE(nodes_stay_where_they_are_while_the_index_grows) {
  Index index;
  Index::Node* first = &insert(index, "first", 1);
  for (int i = 0; i < 5000; ++i) insert(index, std::to_string(i), i);
  BOOST_TEST(find(index, "first") == first);
  BOOST_TEST(first->value == 1);
}

BOOST_AUTO_TEST_CASE(erasing_inside_a_probe_run_keeps_the_rest_of_it_reachable) {
  // Six keys with one home slot, the last one wrapping past the end.
  for (size_t home : {3u, 13u}) {
    for (size_t erased = 0; erased < 6; ++erased) {
      Index index;
      const std::vector<std::string> keys = keys_at(home, 6);
      for (size_t i = 0; i < keys.size(); ++i) insert(index, keys[i], static_cast<int>(i));
      index.erase(*find(index, keys[erased]));
      BOOST_TEST(index.size() == 5u);
      for (size_t i = 0; i < keys.size(); ++i) {
        Index::Node* n = find(index, keys[i]);
        if (i == erased) {
          BOOST_TEST(!n);
        } else {
          BOOST_REQUIRE_MESSAGE(n, "home " << home << ", erased " << erased << ", lost " << i);
          BOOST_TEST(n->value == static_cast<int>(i));
        }
      }
    }
  }
}

BOOST_AUTO_TEST_CASE(an_erased_node_is_reused_with_its_value_as_left) {
  Index index;
  Index::Node& a = insert(index, "a", 7);
  index.erase(a);
  BOOST_TEST(!find(index, "a"));
  Index::Node& b = index.insert("b", Index::hash("b"));
  BOOST_TEST(&b == &a);
  BOOST_TEST(b.key == "b");
  BOOST_TEST(b.value == 7);  // the caller sets it
  BOOST_TEST(find(index, "b") == &b);
}

BOOST_AUTO_TEST_CASE(agrees_with_a_map_under_random_inserts_and_erases) {
  Index index;
  std::map<std::string, int> model;
  std::mt19937 rng(42);
  for (int step = 0; step < 200000; ++step) {
    const std::string key = std::to_string(rng() % 3000);
    Index::Node* n = find(index, key);
    BOOST_REQUIRE_EQUAL(n != nullptr, model.count(key) == 1);
    if (n && rng() % 2) {
      index.erase(*n);
      model.erase(key);
    } else if (!n) {
      insert(index, key, step);
      model[key] = step;
    } else {
      BOOST_REQUIRE_EQUAL(n->value, model[key]);
    }
  }
  BOOST_TEST(index.size() == model.size());
  size_t seen = 0;
  index.each([&](Index::Node& n) {
    ++seen;
    BOOST_TEST(model.at(n.key) == n.value);
  });
  BOOST_TEST(seen == model.size());
}

BOOST_AUTO_TEST_CASE(every_node_keeps_its_own_place_across_the_chunks) {
  // Nodes live in chunks of 16, 32, 64, ...: 5,000 nodes fill nine.
  Index index;
  std::vector<Index::Node*> at;
  for (int i = 0; i < 5000; ++i) at.push_back(&insert(index, "n" + std::to_string(i), i));
  std::set<Index::Node*> distinct(at.begin(), at.end());
  BOOST_TEST(distinct.size() == at.size());
  for (int i = 0; i < 5000; ++i) {
    BOOST_REQUIRE(find(index, "n" + std::to_string(i)) == at[i]);
    BOOST_REQUIRE(at[i]->value == i);
  }
  std::vector<int> seen;
  index.each([&](Index::Node& n) { seen.push_back(n.value); });
  std::sort(seen.begin(), seen.end());
  BOOST_TEST(seen.size() == 5000u);
  for (int i = 0; i < static_cast<int>(seen.size()); ++i) BOOST_REQUIRE(seen[i] == i);
}

BOOST_AUTO_TEST_CASE(prefetch_hints_change_nothing) {
  Index index;
  index.prefetch_slot(Index::hash("a"));  // empty: no slots to ask for
  index.prefetch_node(Index::hash("a"));
  for (int i = 0; i < 100; ++i) insert(index, std::to_string(i), i);
  for (const std::string key : {"5", "50", "absent", ""}) {
    index.prefetch_slot(Index::hash(key));
    index.prefetch_node(Index::hash(key));
  }
  BOOST_TEST(index.size() == 100u);
  for (int i = 0; i < 100; ++i) BOOST_REQUIRE(find(index, std::to_string(i))->value == i);
  BOOST_TEST(!find(index, "absent"));
}

BOOST_AUTO_TEST_CASE(a_ring_is_first_in_first_out_across_its_blocks) {
  Ring<int, 4> ring;
  int pushed = 0, popped = 0;
  // Grows to several blocks, drains halfway, grows again: order and
  // indexing hold throughout.
  for (int round = 0; round < 50; ++round) {
    for (int i = 0; i < 7; ++i) ring.push() = pushed++;
    for (size_t i = 0; i < ring.size(); ++i) BOOST_REQUIRE_EQUAL(ring[i], popped + int(i));
    for (int i = 0; i < 5; ++i) {
      BOOST_REQUIRE_EQUAL(ring.front(), popped++);
      ring.pop_front();
    }
    BOOST_REQUIRE_EQUAL(ring.back(), pushed - 1);
  }
  BOOST_TEST(ring.size() == size_t(pushed - popped));
  while (!ring.empty()) {
    BOOST_REQUIRE_EQUAL(ring.front(), popped++);
    ring.pop_front();
  }
  BOOST_TEST(popped == pushed);
}

BOOST_AUTO_TEST_CASE(a_ring_hands_back_slots_as_they_were_left) {
  Ring<std::string, 4> ring;
  for (int i = 0; i < 8; ++i) ring.push() = "value-" + std::to_string(i);
  for (int i = 0; i < 8; ++i) ring.pop_front();
  // The emptied blocks come back: each slot holds what it held.
  std::vector<std::string> seen;
  for (int i = 0; i < 8; ++i) seen.push_back(ring.push());
  std::sort(seen.begin(), seen.end());
  for (int i = 0; i < 8; ++i) BOOST_TEST(seen[i] == "value-" + std::to_string(i));
}
