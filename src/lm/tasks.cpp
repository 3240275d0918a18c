#include "lm/tasks.h"

#include <fmt/format.h>

#include <algorithm>
#include <climits>
#include <numeric>
#include <set>

#include "core/error.h"

namespace stitch::lm {
namespace {

bool all_digits(const std::string& s) {
  return !s.empty() && std::all_of(s.begin(), s.end(), [](char c) { return c >= '0' && c <= '9'; });
}

// A non-negative integer written without leading zeros (as an answer must be), or -1.
int64_t canonical_int(const std::string& s) {
  if (!all_digits(s) || s.size() > 18 || (s.size() > 1 && s[0] == '0')) return -1;
  return std::stoll(s);
}

// The comma-separated integers of s, or false when it is not such a list.
bool int_list(const std::string& s, std::vector<int64_t>& out) {
  out.clear();
  size_t start = 0;
  while (true) {
    const size_t comma = s.find(',', start);
    const int64_t v = canonical_int(s.substr(start, comma - start));
    if (v < 0) return false;
    out.push_back(v);
    if (comma == std::string::npos) return true;
    start = comma + 1;
  }
}

// A random integer of 1..digits digits (uniform over the digit count, then over its values).
int64_t random_operand(Rng& rng, int digits) {
  const int d = 1 + static_cast<int>(rng.below(static_cast<uint64_t>(digits)));
  int64_t low = 1, high = 10;
  for (int i = 1; i < d; ++i) {
    low *= 10;
    high *= 10;
  }
  if (d == 1) low = 0;
  return low + static_cast<int64_t>(rng.below(static_cast<uint64_t>(high - low)));
}

std::string join(const std::vector<int64_t>& v) {
  std::string s;
  for (size_t i = 0; i < v.size(); ++i) {
    if (i > 0) s.push_back(',');
    s += std::to_string(v[i]);
  }
  return s;
}

void check_difficulty(const std::string& task, int d, int low, int high) {
  if (d < low || d > high)
    fail("task {}: difficulty must be in [{}, {}], got {}", task, low, high, d);
}

// "a<op>b=" -> (a, b); Error naming the prompt otherwise.
std::pair<int64_t, int64_t> binary_prompt(const std::string& task, const std::string& prompt,
                                          char op) {
  const size_t at = prompt.find(op);
  if (at == std::string::npos || prompt.empty() || prompt.back() != '=')
    fail("task {}: '{}' is not one of its prompts", task, prompt);
  const int64_t a = canonical_int(prompt.substr(0, at));
  const int64_t b = canonical_int(prompt.substr(at + 1, prompt.size() - at - 2));
  if (a < 0 || b < 0) fail("task {}: '{}' is not one of its prompts", task, prompt);
  return {a, b};
}

class Arithmetic : public Task {
 public:
  explicit Arithmetic(char op) : op_(op) {}
  std::string name() const override { return op_ == '+' ? "addition" : "multiplication"; }
  int min_difficulty() const override { return 1; }
  int max_difficulty() const override { return 9; }
  Problem generate(Rng& rng, int d) const override {
    check_difficulty(name(), d, 1, max_difficulty());
    const int64_t a = random_operand(rng, d), b = random_operand(rng, d);
    return {fmt::format("{}{}{}=", a, op_, b), std::to_string(op_ == '+' ? a + b : a * b)};
  }

 protected:
  std::pair<bool, bool> check(const std::string& prompt, const std::string& c) const override {
    const auto [a, b] = binary_prompt(name(), prompt, op_);
    const int64_t v = canonical_int(c);
    int64_t expected = 0;  // a prompt's operands may be longer than the generator's: no overflow
    if (op_ == '+' ? __builtin_add_overflow(a, b, &expected)
                   : __builtin_mul_overflow(a, b, &expected))
      return {false, all_digits(c)};
    return {v >= 0 && v == expected, all_digits(c)};
  }

 private:
  char op_;
};

class Sorting : public Task {
 public:
  std::string name() const override { return "sorting"; }
  int min_difficulty() const override { return 2; }
  int max_difficulty() const override { return 20; }
  Problem generate(Rng& rng, int d) const override {
    check_difficulty(name(), d, 2, max_difficulty());
    std::vector<int64_t> v(static_cast<size_t>(d));
    for (int64_t& x : v) x = static_cast<int64_t>(rng.below(100));
    std::vector<int64_t> sorted = v;
    std::sort(sorted.begin(), sorted.end());
    return {fmt::format("S{}=", join(v)), join(sorted)};
  }

 protected:
  std::pair<bool, bool> check(const std::string& prompt, const std::string& c) const override {
    std::vector<int64_t> given, out;
    if (prompt.size() < 3 || prompt[0] != 'S' || prompt.back() != '=' ||
        !int_list(prompt.substr(1, prompt.size() - 2), given))
      fail("task sorting: '{}' is not one of its prompts", prompt);
    if (!int_list(c, out)) return {false, false};
    std::sort(given.begin(), given.end());
    return {out == given, true};
  }
};

// Exact arithmetic on fractions (lowest terms, positive denominator); false on an int64
// overflow or a division by zero.
struct Fraction {
  int64_t num = 0, den = 1;
};
bool normalise(int64_t n, int64_t d, Fraction& out) {
  if (d == 0 || n == INT64_MIN || d == INT64_MIN) return false;
  if (d < 0) {
    n = -n;
    d = -d;
  }
  const int64_t g = std::gcd(n < 0 ? -n : n, d);
  out = {n / g, d / g};
  return true;
}
bool apply(char op, const Fraction& x, const Fraction& y, Fraction& out) {
  int64_t n = 0, d = 0, l = 0, r = 0;
  switch (op) {
    case '+':
    case '-':
      if (__builtin_mul_overflow(x.num, y.den, &l) || __builtin_mul_overflow(y.num, x.den, &r) ||
          __builtin_mul_overflow(x.den, y.den, &d))
        return false;
      if (op == '+' ? __builtin_add_overflow(l, r, &n) : __builtin_sub_overflow(l, r, &n))
        return false;
      return normalise(n, d, out);
    case '*':
      if (__builtin_mul_overflow(x.num, y.num, &n) || __builtin_mul_overflow(x.den, y.den, &d))
        return false;
      return normalise(n, d, out);
    default:
      if (__builtin_mul_overflow(x.num, y.den, &n) || __builtin_mul_overflow(x.den, y.num, &d))
        return false;
      return normalise(n, d, out);
  }
}

// Recursive descent over + - * / ( ) and integers (no unary minus): the value, and the numbers
// it used. ok is false on a syntax error, a leading zero, depth or length past the limits, or
// an overflow or division by zero (`evaluated` false then, `parsed` still true for the latter).
class Expression {
 public:
  explicit Expression(const std::string& s) : s_(s) {}
  bool parse(Fraction& value, std::vector<int64_t>& numbers, bool& evaluated) {
    if (s_.size() > 200) return false;
    evaluated = true;
    if (!expr(value, 0) || at_ != s_.size()) return false;
    numbers = numbers_;
    evaluated = evaluated_;
    return true;
  }

 private:
  bool expr(Fraction& v, int depth) {
    if (!term(v, depth)) return false;
    while (at_ < s_.size() && (s_[at_] == '+' || s_[at_] == '-')) {
      const char op = s_[at_++];
      Fraction r;
      if (!term(r, depth)) return false;
      combine(op, v, r);
    }
    return true;
  }
  bool term(Fraction& v, int depth) {
    if (!factor(v, depth)) return false;
    while (at_ < s_.size() && (s_[at_] == '*' || s_[at_] == '/')) {
      const char op = s_[at_++];
      Fraction r;
      if (!factor(r, depth)) return false;
      combine(op, v, r);
    }
    return true;
  }
  bool factor(Fraction& v, int depth) {
    if (depth > 32 || at_ >= s_.size()) return false;
    if (s_[at_] == '(') {
      ++at_;
      if (!expr(v, depth + 1) || at_ >= s_.size() || s_[at_] != ')') return false;
      ++at_;
      return true;
    }
    const size_t start = at_;
    while (at_ < s_.size() && s_[at_] >= '0' && s_[at_] <= '9') ++at_;
    const int64_t n = canonical_int(s_.substr(start, at_ - start));
    if (n < 0) return false;
    numbers_.push_back(n);
    v = {n, 1};
    return true;
  }
  void combine(char op, Fraction& v, const Fraction& r) {
    Fraction out;
    if (evaluated_ && apply(op, v, r, out)) {
      v = out;
    } else {
      evaluated_ = false;
    }
  }
  const std::string& s_;
  size_t at_ = 0;
  std::vector<int64_t> numbers_;
  bool evaluated_ = true;
};

class Countdown : public Task {
 public:
  std::string name() const override { return "countdown"; }
  int min_difficulty() const override { return 2; }
  int max_difficulty() const override { return 6; }
  Problem generate(Rng& rng, int d) const override {
    check_difficulty(name(), d, 2, max_difficulty());
    for (int attempt = 0;; ++attempt) {
      if (attempt == 10000) fail("task countdown: no problem found at difficulty {}", d);
      std::vector<int64_t> numbers(static_cast<size_t>(d));
      for (int64_t& x : numbers) x = 1 + static_cast<int64_t>(rng.below(99));
      // Combine a random pair of the pool with a random operation until one value is left.
      std::vector<std::pair<int64_t, std::string>> pool;
      for (const int64_t x : numbers) pool.emplace_back(x, std::to_string(x));
      bool ok = true;
      while (pool.size() > 1 && ok) {
        const size_t i = rng.below(pool.size());
        size_t j = rng.below(pool.size() - 1);
        if (j >= i) ++j;
        const auto [a, ea] = pool[i];
        const auto [b, eb] = pool[j];
        const char op = "+-*/"[rng.below(4)];
        int64_t v = 0;
        if (op == '+') v = a + b;
        if (op == '-') v = a - b;
        if (op == '*') v = a * b;
        if (op == '/') v = (b != 0 && a % b == 0) ? a / b : -1;
        if (v <= 0 || v > 99999) {
          ok = false;
          break;
        }
        pool.erase(pool.begin() + static_cast<std::ptrdiff_t>(std::max(i, j)));
        pool.erase(pool.begin() + static_cast<std::ptrdiff_t>(std::min(i, j)));
        pool.emplace_back(v, fmt::format("({}{}{})", ea, op, eb));
      }
      if (!ok) continue;
      const int64_t target = pool[0].first;
      if (target < 1 || target > 999) continue;
      std::string answer = pool[0].second;
      if (answer.front() == '(') answer = answer.substr(1, answer.size() - 2);
      return {fmt::format("C{}>{}=", join(numbers), target), answer};
    }
  }

 protected:
  std::pair<bool, bool> check(const std::string& prompt, const std::string& c) const override {
    const size_t gt = prompt.find('>');
    std::vector<int64_t> given;
    const int64_t target =
        gt == std::string::npos ? -1 : canonical_int(prompt.substr(gt + 1, prompt.size() - gt - 2));
    if (prompt.size() < 5 || prompt[0] != 'C' || prompt.back() != '=' || target < 0 ||
        !int_list(prompt.substr(1, gt - 1), given))
      fail("task countdown: '{}' is not one of its prompts", prompt);
    Fraction value;
    std::vector<int64_t> used;
    bool evaluated = false;
    if (!Expression(c).parse(value, used, evaluated)) return {false, false};
    std::sort(used.begin(), used.end());
    std::sort(given.begin(), given.end());
    const bool formatted = used == given;  // every number exactly once
    return {formatted && evaluated && value.den == 1 && value.num == target, formatted};
  }
};

uint64_t fnv1a(const std::string& s) {
  uint64_t h = 14695981039346656037ULL;
  for (const char c : s) {
    h ^= static_cast<unsigned char>(c);
    h *= 1099511628211ULL;
  }
  return h;
}

}  // namespace

Score Task::score(const std::string& prompt, const std::string& completion,
                  double format_reward) const {
  const auto [correct, formatted] = check(prompt, completion);
  return {.correct = correct,
          .formatted = formatted || correct,
          .reward = correct ? 1.0 : (formatted ? format_reward : 0.0)};
}

std::vector<std::string> task_names() {
  return {"addition", "countdown", "multiplication", "sorting"};
}

std::unique_ptr<Task> make_task(const std::string& name) {
  if (name == "addition") return std::make_unique<Arithmetic>('+');
  if (name == "multiplication") return std::make_unique<Arithmetic>('*');
  if (name == "sorting") return std::make_unique<Sorting>();
  if (name == "countdown") return std::make_unique<Countdown>();
  fail("unknown task '{}' (addition, countdown, multiplication, sorting)", name);
}

// FNV-1a's low bit is the parity of the characters' codes, so the hash is mixed (splitmix64's
// finaliser) before the remainder: otherwise the split would follow the count of odd digits.
bool held_out(const std::string& prompt) {
  uint64_t z = fnv1a(prompt);
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
  return (z ^ (z >> 31)) % 10 == 0;
}

Problem training_problem(const Task& task, Rng& rng, int difficulty) {
  for (int i = 0; i < 10000; ++i) {
    Problem p = task.generate(rng, difficulty);
    if (!held_out(p.prompt)) return p;
  }
  fail("task {}: no training problem at difficulty {} in 10,000 draws", task.name(), difficulty);
}

std::vector<Problem> test_set(const Task& task, int difficulty, int count, uint64_t seed) {
  Rng rng(seed);
  std::vector<Problem> out;
  std::set<std::string> seen;
  for (int64_t draws = 0; static_cast<int>(out.size()) < count && draws < 100LL * count; ++draws) {
    Problem p = task.generate(rng, difficulty);
    if (held_out(p.prompt) && seen.insert(p.prompt).second) out.push_back(std::move(p));
  }
  return out;
}

}  // namespace stitch::lm
