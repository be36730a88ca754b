#include "tests/integration/prometheus_parser.h"

#include <regex>
#include <sstream>

namespace taskpool::testing {

namespace {

const std::regex kHelp(R"(# HELP ([a-zA-Z_:][a-zA-Z0-9_:]*) \S.*)");
const std::regex kType(
    R"(# TYPE ([a-zA-Z_:][a-zA-Z0-9_:]*) (counter|gauge|summary|histogram))");
const std::regex kSample(R"(([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? (\S+))");
const std::regex kLabel(
    R"(([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)\"(,|$))");

bool EndsWith(const std::string& text, const std::string& suffix) {
  return text.size() >= suffix.size() &&
         text.compare(text.size() - suffix.size(), suffix.size(), suffix) == 0;
}

// Parses `a="x",b="y"`; false if malformed.
bool ParseLabels(const std::string& text,
                 std::map<std::string, std::string>* labels) {
  auto position = text.cbegin();
  std::smatch match;
  while (position != text.cend()) {
    if (!std::regex_search(position, text.cend(), match, kLabel,
                           std::regex_constants::match_continuous)) {
      return false;
    }
    if (!labels->emplace(match[1], match[2]).second) return false;  // repeated
    position = match[0].second;
  }
  return true;
}

bool ParseValue(const std::string& text, double* value) {
  std::istringstream in(text);
  in >> *value;
  return !in.fail() && in.eof();
}

}  // namespace

std::set<std::string> PrometheusText::families() const {
  std::set<std::string> names;
  for (const auto& [name, type] : types) names.insert(name);
  return names;
}

std::optional<double> PrometheusText::Value(
    const std::string& name,
    const std::map<std::string, std::string>& labels) const {
  std::optional<double> found;
  for (const PrometheusSample& sample : samples) {
    if (sample.name != name) continue;
    bool matches = true;
    for (const auto& [key, value] : labels) {
      auto label = sample.labels.find(key);
      if (label == sample.labels.end() || label->second != value)
        matches = false;
    }
    if (!matches) continue;
    if (found) return std::nullopt;  // ambiguous
    found = sample.value;
  }
  return found;
}

size_t PrometheusText::Count(const std::string& name) const {
  size_t count = 0;
  for (const PrometheusSample& sample : samples) count += sample.name == name;
  return count;
}

PrometheusText ParsePrometheusText(const std::string& text) {
  PrometheusText parsed;
  std::set<std::string> helped;
  std::string family;
  std::istringstream lines(text);
  for (std::string line; std::getline(lines, line);) {
    const auto error = [&](const std::string& what) {
      parsed.errors.push_back(what + ": '" + line + "'");
    };
    std::smatch match;
    if (std::regex_match(line, match, kHelp)) {
      family = match[1];
      if (!helped.insert(family).second) error("HELP repeated");
    } else if (std::regex_match(line, match, kType)) {
      if (match[1] != family) error("TYPE must follow its HELP");
      if (!parsed.types.emplace(match[1], match[2]).second)
        error("TYPE repeated");
    } else if (std::regex_match(line, match, kSample)) {
      PrometheusSample sample;
      sample.name = match[1];
      if (match[2].matched && !ParseLabels(match[2], &sample.labels))
        error("bad labels");
      if (!ParseValue(match[3], &sample.value)) error("bad value");
      const std::string type =
          parsed.types.count(family) ? parsed.types.at(family) : "";
      const bool summary_part =
          (type == "summary" || type == "histogram") &&
          (sample.name == family + "_sum" || sample.name == family + "_count");
      const bool bucket = type == "histogram" && sample.name == family + "_bucket";
      if (bucket && !sample.labels.count("le")) error("histogram bucket without le");
      if (type == "histogram" && sample.name == family) error("histogram sample without suffix");
      if (sample.name != family && !summary_part && !bucket)
        error("sample outside its family");
      if (type == "summary" && sample.name == family &&
          !sample.labels.count("quantile")) {
        error("summary sample without a quantile");
      }
      if (type == "counter" && !EndsWith(family, "_total"))
        error("counter not named _total");
      parsed.samples.push_back(std::move(sample));
    } else {
      error("not Prometheus text format");
    }
  }
  if (helped.size() != parsed.types.size()) {
    parsed.errors.push_back("a family has HELP without TYPE");
  }
  return parsed;
}

}  // namespace taskpool::testing
