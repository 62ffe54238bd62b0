#pragma once
// One table of settings, many views, as LevelDB's Options and Gloo's
// AllreduceOptions are defined once: each row names a setting's key, its
// field, its help text, the check of its value and its roles, and every view
// is generated from the rows, so none can drift from another:
//   - the Boost.Program_options description (command line, config file,
//     --help with the defaults),
//   - the INI text logged at start and stored in every checkpoint, read back
//     by from_ini(),
//   - the value checks, naming the key, the value and where it came from,
//   - the comparison of two configs over the rows of a role (the model's
//     shape against a checkpoint's, the data split on resume).
// Enum fields are ChoiceNames enums (common/choice.h): their parser lists
// the valid values. Header-only; users link Boost::program_options.

#include <boost/program_options.hpp>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <functional>
#include <optional>
#include <sstream>
#include <string>
#include <type_traits>
#include <vector>

#include "common/choice_option.h"
#include "common/error.h"

namespace distgru {

// What a setting means beyond its value, for the views that compare configs.
enum SettingRole : unsigned {
  kPlainSetting = 0,
  kModelShape = 1u << 0,    // defines the model and its inputs: a checkpoint must match
  kSplitOrOrder = 1u << 1,  // decides which reviews are trained and validated, and in which order
  kRankLocal = 1u << 2,     // may differ from rank to rank (threads)
};

// The text of a value as written to an INI file and read back exactly.
inline std::string setting_text(const std::string& v) { return v; }
inline std::string setting_text(bool v) { return v ? "true" : "false"; }
inline std::string setting_text(double v) {
  // The shortest form that reads back to the same double.
  char text[32];
  for (int digits = 15; digits <= 17; ++digits) {
    std::snprintf(text, sizeof(text), "%.*g", digits, v);
    if (std::strtod(text, nullptr) == v || std::isnan(v)) break;
  }
  return text;
}
template <typename T, typename = std::enable_if_t<std::is_integral_v<T>>>
std::string setting_text(T v) {
  return std::to_string(v);
}
template <typename E, typename = std::enable_if_t<std::is_enum_v<E>>, typename = void>
std::string setting_text(E v) {
  return choice_name(v);
}

// A problem with a value ("must be positive"), or nothing.
template <typename T>
using SettingCheck = std::function<std::optional<std::string>(const T&)>;

template <typename Config>
class OptionTable {
 public:
  template <typename T>
  using Check = SettingCheck<T>;

  struct Row {
    std::string group, key, help;
    unsigned roles = kPlainSetting;
    std::function<void(boost::program_options::options_description&, Config&)> bind;
    std::function<std::string(const Config&)> text;
    std::function<std::optional<std::string>(const Config&)> problem;
  };

  struct Difference {
    std::string key, a, b;
  };

  // A row for the field `field` of Config.
  template <typename T>
  OptionTable& add(std::string group, std::string key, T Config::*field, std::string help,
                   Check<T> check = {}, unsigned roles = kPlainSetting) {
    return add_at<T>(std::move(group), std::move(key), [field](Config& c) -> T& { return c.*field; },
                     std::move(help), std::move(check), roles);
  }

  // A row for a value `at(config)` returns a reference to (a field of a
  // struct inside Config: settings several tools share).
  template <typename T, typename At>
  OptionTable& add_at(std::string group, std::string key, At at, std::string help, Check<T> check = {},
                      unsigned roles = kPlainSetting) {
    // Reading goes through the same accessor; it never writes.
    auto get = [at](const Config& c) -> const T& { return at(const_cast<Config&>(c)); };
    Row row;
    row.group = std::move(group);
    row.key = key;
    row.help = help;
    row.roles = roles;
    row.bind = [key, help, at](boost::program_options::options_description& d, Config& c) {
      T& value = at(c);
      d.add_options()(key.c_str(),
                      boost::program_options::value<T>(&value)->default_value(value, setting_text(value)),
                      help.c_str());
    };
    row.text = [get](const Config& c) { return setting_text(get(c)); };
    if (check) {
      row.problem = [get, check](const Config& c) { return check(get(c)); };
    }
    rows_.push_back(std::move(row));
    return *this;
  }

  const std::vector<Row>& rows() const { return rows_; }

  // The options bound to c's fields, grouped in the order the groups first
  // appear, each with c's current value as its default.
  boost::program_options::options_description options(Config& c) const {
    boost::program_options::options_description all;
    std::vector<std::string> groups;
    for (const auto& row : rows_) {
      if (std::find(groups.begin(), groups.end(), row.group) == groups.end()) groups.push_back(row.group);
    }
    for (const auto& group : groups) {
      boost::program_options::options_description section(group);
      for (const auto& row : rows_) {
        if (row.group == group) row.bind(section, c);
      }
      all.add(section);
    }
    return all;
  }

  // "key = value" per row, in table order, leaving out the rows with any of
  // `except_roles`.
  std::string to_ini(const Config& c, unsigned except_roles = 0) const {
    std::string out;
    for (const auto& row : rows_) {
      if ((row.roles & except_roles) == 0) out += row.key + " = " + row.text(c) + "\n";
    }
    return out;
  }

  // A config from INI text (as to_ini writes); rows absent from the text keep
  // their defaults. Throws distgru::Error naming `origin` on an unknown key or
  // a bad value.
  Config from_ini(const std::string& ini, const std::string& origin) const {
    Config c;
    auto description = options(c);
    boost::program_options::variables_map vm;
    std::istringstream in(ini);
    try {
      boost::program_options::store(boost::program_options::parse_config_file(in, description), vm);
      boost::program_options::notify(vm);
    } catch (const boost::program_options::error& e) {
      DISTGRU_FAIL(origin + ": " + e.what());
    }
    return c;
  }

  // Throws distgru::Error for the first row whose value fails its check:
  // "--lr must be positive and finite, not inf" followed by origin(key)
  // (where the value came from, e.g. " (from run.ini)"; may be empty).
  void check(const Config& c, const std::function<std::string(const std::string&)>& origin = {}) const {
    for (const auto& row : rows_) {
      if (!row.problem) continue;
      if (auto problem = row.problem(c)) {
        DISTGRU_FAIL("--" + row.key + " " + *problem + ", not " + row.text(c) +
                     (origin ? origin(row.key) : std::string()));
      }
    }
  }

  // The rows with any of `roles` whose values differ between a and b.
  std::vector<Difference> differences(const Config& a, const Config& b, unsigned roles) const {
    std::vector<Difference> out;
    for (const auto& row : rows_) {
      if ((row.roles & roles) == 0) continue;
      auto x = row.text(a), y = row.text(b);
      if (x != y) out.push_back({row.key, std::move(x), std::move(y)});
    }
    return out;
  }

 private:
  std::vector<Row> rows_;
};

template <typename Config>
struct ParsedSettings {
  std::optional<Config> config;  // empty when --help was asked for
  std::string help;              // the usage text, then every option with its default
};

// A tool's command line: --help, the table's options and, when
// `config_file` is true, --config FILE, an INI file of the same keys whose
// values the command line overrides. Every value is checked against its row
// after parsing. Throws distgru::Error on an unknown flag or key, a bad value
// (naming the key, the value and the file it came from) or an unreadable file.
template <typename Config>
ParsedSettings<Config> parse_settings(const OptionTable<Config>& table, int argc, const char* const* argv,
                                      const std::string& usage, bool config_file) {
  namespace po = boost::program_options;
  Config config;
  auto options = table.options(config);
  std::string file;
  po::options_description generic("General");
  generic.add_options()("help,h", "show this help");
  if (config_file) generic.add_options()("config", po::value(&file), "INI file with any of the settings below");
  po::options_description cmdline;
  cmdline.add(generic).add(options);

  ParsedSettings<Config> result;
  po::variables_map vm;
  std::vector<std::string> from_file;
  try {
    po::store(po::parse_command_line(argc, argv, cmdline), vm);
    if (vm.count("help")) {
      std::ostringstream out;
      out << usage << cmdline;
      result.help = out.str();
      return result;
    }
    if (vm.count("config")) {
      file = vm["config"].as<std::string>();
      std::ifstream in(file);
      DISTGRU_CHECK(in.good(), file + ": cannot open config file");
      try {
        const auto parsed = po::parse_config_file(in, options);
        for (const auto& option : parsed.options) {
          if (!vm.count(option.string_key) || vm[option.string_key].defaulted()) from_file.push_back(option.string_key);
        }
        po::store(parsed, vm);  // the first store wins: the command line
      } catch (const po::error& e) {
        DISTGRU_FAIL(file + ": " + e.what());
      }
    }
    po::notify(vm);
  } catch (const po::error& e) {
    DISTGRU_FAIL(std::string(e.what()) + " (see --help)");
  }
  table.check(config, [&](const std::string& key) {
    const bool in_file = std::find(from_file.begin(), from_file.end(), key) != from_file.end();
    return in_file ? " (from " + file + ")" : std::string();
  });
  result.config = std::move(config);
  return result;
}

// "hidden-size 128 vs 64, vocab-size 20000 vs 5000"; empty when none.
template <typename Difference>
std::string describe_differences(const std::vector<Difference>& differences) {
  std::string out;
  for (const auto& d : differences) {
    if (!out.empty()) out += ", ";
    out += d.key + " " + d.a + " vs " + d.b;
  }
  return out;
}

// Checks for OptionTable rows.
template <typename T>
std::optional<std::string> positive(const T& v) {
  if constexpr (std::is_floating_point_v<T>) {
    if (!(v > 0) || !std::isfinite(v)) return "must be positive and finite";
  } else if (!(v > 0)) {
    return "must be positive";
  }
  return std::nullopt;
}

template <typename T>
std::optional<std::string> non_negative(const T& v) {
  if constexpr (std::is_floating_point_v<T>) {
    if (!(v >= 0) || !std::isfinite(v)) return "must be finite and not negative";
  } else if (v < 0) {
    return "must not be negative";
  }
  return std::nullopt;
}

// [lo, hi] (closed) or [lo, hi) when !include_hi.
inline SettingCheck<double> in_range(double lo, double hi, bool include_hi) {
  return [lo, hi, include_hi](const double& v) -> std::optional<std::string> {
    const bool ok = v >= lo && (include_hi ? v <= hi : v < hi);
    if (ok) return std::nullopt;
    return "must be in [" + setting_text(lo) + ", " + setting_text(hi) + (include_hi ? "]" : ")");
  };
}

}  // namespace distgru
