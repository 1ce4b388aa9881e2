// tools/lowp/name_list.h: the comma-separated name lists of the CLI's options
// (--exclude NODE,..., --op-types Conv,...).
#pragma once

#include <set>
#include <string>

namespace lowp::cli {

// "a,b,,c" -> {a, b, c}: empty items are dropped, duplicates merged.
std::set<std::string> split_names(const std::string& list);

}  // namespace lowp::cli
