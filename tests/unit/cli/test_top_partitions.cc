// `streams-host top`'s partitions table: every partition in /status's order
// when they fit; with more than the rows, those not running and then the
// most lagging first, and how many are left out.
#define BOOST_TEST_MODULE top_partitions
#include "cli/top_partitions.h"

#include <boost/test/unit_test.hpp>
#include <nlohmann/json.hpp>
#include <sstream>
#include <string>
#include <vector>

using streams::cli::partitions_table;

namespace {

nlohmann::json status_of(int count, int lagging, int paused) {
  nlohmann::json parts = nlohmann::json::array();
  for (int i = 0; i < count; ++i) {
    parts.push_back({{"partition", i},
                     {"thread", 1},
                     {"position", 10},
                     {"committed", 10},
                     {"lag", i == lagging ? 5000 : i % 3},
                     {"in_flight", 0},
                     {"paused", i == paused}});
  }
  return {{"partitions", parts}};
}

// The partition numbers of the table's rows, in order.
std::vector<int> listed(const std::string& table) {
  std::vector<int> out;
  std::istringstream in(table);
  std::string line;
  while (std::getline(in, line)) {
    if (!line.empty() && std::isdigit(static_cast<unsigned char>(line[0]))) {
      out.push_back(std::stoi(line));
    }
  }
  return out;
}

}  // namespace

BOOST_AUTO_TEST_CASE(all_partitions_in_order_when_they_fit) {
  const std::string table = partitions_table(status_of(5, 3, -1));
  BOOST_TEST(listed(table) == (std::vector<int>{0, 1, 2, 3, 4}), boost::test_tools::per_element());
  BOOST_TEST(table.find("more") == std::string::npos);
  BOOST_TEST(partitions_table(nlohmann::json::object()) == "");
}

BOOST_AUTO_TEST_CASE(past_the_rows_the_stopped_and_the_lagging_come_first) {
  const std::string table = partitions_table(status_of(200, 170, 150));
  const std::vector<int> rows = listed(table);
  BOOST_REQUIRE(rows.size() == 32u);
  BOOST_TEST(rows[0] == 150);    // paused
  BOOST_TEST(rows[1] == 170);    // 5,000 behind
  BOOST_TEST(rows[2] % 3 == 2);  // then the lag of 2s, in partition order
  BOOST_TEST(table.find("paused") != std::string::npos);
  BOOST_TEST(table.find("... 168 more") != std::string::npos);
}
