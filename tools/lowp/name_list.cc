// tools/lowp/name_list.cc
#include "name_list.h"

#include <sstream>

namespace lowp::cli {

std::set<std::string> split_names(const std::string& list) {
  std::set<std::string> out;
  std::stringstream ss(list);
  std::string item;
  while (std::getline(ss, item, ',')) {
    if (!item.empty()) out.insert(item);
  }
  return out;
}

}  // namespace lowp::cli
