// Named values of an enum, listed once (common/choice.h), parsed by
// Boost.Program_options with an error that lists them (common/choice_option.h).
#include "common/choice.h"

#include <gtest/gtest.h>

#include "common/choice_option.h"
#include "common/option_table.h"

namespace distgru::testing_choice {
enum class Fruit { kApple, kPear, kPlum };
DISTGRU_CHOICE_OPTION(Fruit)
}  // namespace distgru::testing_choice

template <>
struct distgru::ChoiceNames<distgru::testing_choice::Fruit> {
  using E = testing_choice::Fruit;
  static constexpr std::array<std::pair<E, std::string_view>, 3> kValues{
      {{E::kApple, "apple"}, {E::kPear, "pear"}, {E::kPlum, "plum"}}};
};

namespace distgru::testing_choice {
namespace {

namespace po = boost::program_options;

TEST(Choice, NamesParseAndList) {
  EXPECT_EQ(choice_name(Fruit::kPear), "pear");
  EXPECT_EQ(choice_list<Fruit>(), "apple, pear or plum");
  EXPECT_EQ(choice_list<Fruit>(" | ", " | "), "apple | pear | plum");
  EXPECT_EQ(parse_choice<Fruit>("plum", "--fruit"), Fruit::kPlum);
  EXPECT_FALSE(find_choice<Fruit>("Plum").has_value());  // exact, as flags are
  try {
    parse_choice<Fruit>("fig", "--fruit");
    FAIL();
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("--fruit must be apple, pear or plum, not 'fig'"), std::string::npos)
        << e.what();
  }
}

struct Basket {
  Fruit fruit = Fruit::kApple;
  double weight = 1.5;
};

TEST(Choice, ProgramOptionsReadsTheEnumAndListsTheValues) {
  OptionTable<Basket> table;
  table.add("Basket", "fruit", &Basket::fruit, "what is in it").add("Basket", "weight", &Basket::weight, "kg",
                                                                   positive<double>);
  Basket b;
  auto options = table.options(b);
  const char* good[] = {"prog", "--fruit", "plum"};
  po::variables_map vm;
  po::store(po::parse_command_line(3, good, options), vm);
  po::notify(vm);
  EXPECT_EQ(b.fruit, Fruit::kPlum);
  EXPECT_EQ(table.to_ini(b), "fruit = plum\nweight = 1.5\n");
  EXPECT_EQ(table.from_ini("fruit = pear\n", "test").fruit, Fruit::kPear);

  const char* bad[] = {"prog", "--fruit", "fig"};
  po::variables_map vm2;
  try {
    po::store(po::parse_command_line(3, bad, options), vm2);
    FAIL();
  } catch (const po::error& e) {
    EXPECT_STREQ(e.what(), "'fig' is not a value of '--fruit': expected apple, pear or plum");
  }
  try {
    table.from_ini("fruit = fig\n", "basket.ini");
    FAIL();
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("basket.ini: 'fig' is not a value of 'fruit': expected apple, pear or plum"),
              std::string::npos)
        << e.what();
  }
}

TEST(OptionTable, DoublesAreWrittenToReadBackExactly) {
  for (double v : {0.1, 1e-3, 2e-3, 0.0123456789012345, 1.0 / 3.0, 5.0, 1e300}) {
    EXPECT_EQ(std::strtod(setting_text(v).c_str(), nullptr), v) << setting_text(v);
  }
  EXPECT_EQ(setting_text(0.002), "0.002");
  EXPECT_EQ(setting_text(true), "true");
}

TEST(OptionTable, ChecksNameTheKeyTheValueAndTheOrigin) {
  OptionTable<Basket> table;
  table.add("Basket", "weight", &Basket::weight, "kg", positive<double>);
  Basket b;
  b.weight = -2;
  try {
    table.check(b, [](const std::string& key) { return " (from " + key + ".ini)"; });
    FAIL();
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("--weight must be positive and finite, not -2 (from weight.ini)"),
              std::string::npos)
        << e.what();
  }
  b.weight = 3;
  EXPECT_NO_THROW(table.check(b));
}

}  // namespace
}  // namespace distgru::testing_choice
