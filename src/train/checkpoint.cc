// train/checkpoint.cc
#include "train/checkpoint.h"

#include <cstring>
#include <fstream>
#include <iterator>
#include <map>
#include <sstream>
#include <vector>

#include "base/error.h"
#include "io/atomic_file.h"

namespace lowp::train {
namespace {

constexpr char kMagic[8] = {'L', 'O', 'W', 'P', 'C', 'K', 'P', 'T'};
constexpr std::uint32_t kVersion = 1;

class Writer {
 public:
  template <class T>
  void pod(T v) {
    const auto* p = reinterpret_cast<const std::byte*>(&v);
    bytes.insert(bytes.end(), p, p + sizeof(T));
  }
  void str(const std::string& s) {
    pod<std::uint64_t>(s.size());
    const auto* p = reinterpret_cast<const std::byte*>(s.data());
    bytes.insert(bytes.end(), p, p + s.size());
  }
  void tensor(const std::string& name, const std::vector<float>& v) {
    str(name);
    pod<std::uint64_t>(v.size());
    const auto* p = reinterpret_cast<const std::byte*>(v.data());
    bytes.insert(bytes.end(), p, p + v.size() * sizeof(float));
  }
  std::vector<std::byte> bytes;
};

class Reader {
 public:
  Reader(const std::vector<char>& data, std::string path) : data_(data), path_(std::move(path)) {}
  void need(std::size_t n, const char* what) {
    LOWP_CHECK(n <= data_.size() - pos_,
               "checkpoint {}: truncated in {} ({} bytes left, {} needed)", path_, what,
               data_.size() - pos_, n);
  }
  template <class T>
  T pod(const char* what) {
    need(sizeof(T), what);
    T v;
    std::memcpy(&v, data_.data() + pos_, sizeof(T));
    pos_ += sizeof(T);
    return v;
  }
  std::string str(const char* what) {
    std::uint64_t n = pod<std::uint64_t>(what);
    need(n, what);
    std::string s(data_.data() + pos_, n);
    pos_ += n;
    return s;
  }
  std::vector<float> floats(std::uint64_t n, const std::string& what) {
    LOWP_CHECK(n <= (data_.size() - pos_) / sizeof(float),
               "checkpoint {}: tensor '{}' claims {} values, more than the file holds", path_, what,
               n);
    std::vector<float> v(n);
    std::memcpy(v.data(), data_.data() + pos_, n * sizeof(float));
    pos_ += n * sizeof(float);
    return v;
  }
  bool done() const { return pos_ == data_.size(); }

 private:
  const std::vector<char>& data_;
  std::string path_;
  std::size_t pos_ = 0;
};

// Every tensor of the training state, by the name it has in the file.
std::vector<std::pair<std::string, std::vector<float>*>> named_tensors(Model& model,
                                                                       Optimizer& optimizer) {
  std::vector<std::pair<std::string, std::vector<float>*>> out;
  for (Param* p : model.params()) out.emplace_back("param:" + p->name, &p->value);
  for (StateTensor* s : model.states()) out.emplace_back("state:" + s->name, &s->value);
  for (Optimizer::Slot& slot : optimizer.slots())
    out.emplace_back("optimizer:" + slot.name, slot.values);
  return out;
}

std::map<std::string, std::string> parse_config(const std::string& config) {
  std::map<std::string, std::string> out;
  std::stringstream in(config);
  std::string item;
  while (std::getline(in, item, ';')) {
    std::size_t eq = item.find('=');
    out[item.substr(0, eq)] = eq == std::string::npos ? "" : item.substr(eq + 1);
  }
  return out;
}

}  // namespace

void save_checkpoint(const std::filesystem::path& path, const std::string& config,
                     const TrainPosition& position, Model& model, Optimizer& optimizer) {
  Writer w;
  const auto* magic = reinterpret_cast<const std::byte*>(kMagic);
  w.bytes.insert(w.bytes.end(), magic, magic + sizeof(kMagic));
  w.pod<std::uint32_t>(kVersion);
  w.str(config);
  w.pod<std::int64_t>(position.epoch);
  w.pod<std::int64_t>(position.step_in_epoch);
  w.pod<std::int64_t>(position.global_step);
  w.pod<double>(position.loss_sum);
  w.pod<std::int64_t>(position.correct);
  w.pod<std::int64_t>(position.seen);
  w.pod<float>(position.loss_scale);
  w.pod<std::int64_t>(position.good_steps);
  w.pod<std::int64_t>(optimizer.steps());
  auto tensors = named_tensors(model, optimizer);
  w.pod<std::uint64_t>(tensors.size());
  for (const auto& [name, values] : tensors) w.tensor(name, *values);
  write_file_atomically(path, w.bytes);
}

TrainPosition load_checkpoint(const std::filesystem::path& path, const std::string& config,
                              Model& model, Optimizer& optimizer) {
  std::ifstream file(path, std::ios::binary);
  LOWP_CHECK(file.good(), "checkpoint {}: cannot open it to resume", path.string());
  std::vector<char> data((std::istreambuf_iterator<char>(file)), std::istreambuf_iterator<char>());
  const std::string where = path.string();
  Reader r(data, where);
  r.need(sizeof(kMagic), "the header");
  LOWP_CHECK(std::memcmp(data.data(), kMagic, sizeof(kMagic)) == 0,
             "checkpoint {}: not a lowp checkpoint (no LOWPCKPT header)", where);
  for (std::size_t i = 0; i < sizeof(kMagic); ++i) r.pod<char>("the header");
  const std::uint32_t version = r.pod<std::uint32_t>("the version");
  LOWP_CHECK(version == kVersion, "checkpoint {}: version {} is not {}", where, version, kVersion);
  const std::string saved = r.str("the configuration");
  if (saved != config) {
    auto a = parse_config(saved), b = parse_config(config);
    for (const auto& [key, value] : b) {
      auto it = a.find(key);
      LOWP_CHECK(it != a.end() && it->second == value,
                 "checkpoint {} was written by a different run: {} is {} there but {} now", where,
                 key, it == a.end() ? "absent" : it->second, value);
    }
    fail("checkpoint {} was written by a different run: its configuration has other settings ({})",
         where, saved);
  }
  TrainPosition pos;
  pos.epoch = r.pod<std::int64_t>("the position");
  pos.step_in_epoch = r.pod<std::int64_t>("the position");
  pos.global_step = r.pod<std::int64_t>("the position");
  pos.loss_sum = r.pod<double>("the position");
  pos.correct = r.pod<std::int64_t>("the position");
  pos.seen = r.pod<std::int64_t>("the position");
  pos.loss_scale = r.pod<float>("the loss scale");
  pos.good_steps = r.pod<std::int64_t>("the loss scale");
  const std::int64_t optimizer_steps = r.pod<std::int64_t>("the optimizer");
  LOWP_CHECK(
      pos.epoch >= 0 && pos.step_in_epoch >= 0 && pos.global_step >= 0 && optimizer_steps >= 0,
      "checkpoint {}: negative position", where);
  auto tensors = named_tensors(model, optimizer);
  const std::uint64_t count = r.pod<std::uint64_t>("the tensor count");
  LOWP_CHECK(count == tensors.size(), "checkpoint {}: {} tensors, the run has {}", where, count,
             tensors.size());
  // Read everything before changing the model, so a bad file leaves it untouched.
  std::vector<std::vector<float>> loaded;
  for (const auto& [name, values] : tensors) {
    const std::string got = r.str("a tensor name");
    LOWP_CHECK(got == name, "checkpoint {}: tensor '{}' where the run has '{}'", where, got, name);
    const std::uint64_t n = r.pod<std::uint64_t>("a tensor size");
    LOWP_CHECK(n == values->size(), "checkpoint {}: tensor '{}' has {} values, the run {}", where,
               name, n, values->size());
    loaded.push_back(r.floats(n, name));
  }
  LOWP_CHECK(r.done(), "checkpoint {}: bytes after the last tensor", where);
  for (std::size_t i = 0; i < tensors.size(); ++i) *tensors[i].second = std::move(loaded[i]);
  optimizer.set_steps(optimizer_steps);
  return pos;
}

}  // namespace lowp::train
