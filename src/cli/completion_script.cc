#include "cli/completion_script.h"

#include <algorithm>

#include "cli/commands.h"

namespace taskpool::cli {

namespace po = boost::program_options;

namespace {

CompletionOption FromDescription(const po::option_description& option,
                                 const CommandSpec* spec) {
  CompletionOption out;
  out.long_name = option.long_name();
  // "-a" when the option has a short name, else its long name bare.
  const std::string shown =
      option.canonical_display_name(po::command_line_style::allow_dash_for_short);
  if (shown.size() == 2 && shown[0] == '-') out.short_name = shown[1];
  out.takes_value = option.semantic()->max_tokens() > 0;
  if (out.takes_value) {
    const std::string value_name = option.semantic()->name();
    if (value_name.starts_with("FILE") || value_name.starts_with("PATH")) {
      out.value_kind = WordKind::kFile;
    } else if (value_name.starts_with("DIR")) {
      out.value_kind = WordKind::kDirectory;
    }
  }
  if (spec != nullptr) {
    for (const auto& [name, values] : spec->choices) {
      if (name == out.long_name) out.choices = values;
    }
  }
  out.description = ShortDescription(option.description());
  return out;
}

void AddOptions(const po::options_description& table, const CommandSpec* spec,
                std::vector<CompletionOption>* out) {
  for (const auto& option : table.options()) {
    if (option->long_name().empty()) continue;
    out->push_back(FromDescription(*option, spec));
  }
}

}  // namespace

std::string Join(const std::vector<std::string>& words) {
  std::string out;
  for (const std::string& word : words) out += (out.empty() ? "" : " ") + word;
  return out;
}

void ReplacePlaceholder(std::string* text, const std::string& placeholder,
                        const std::string& value) {
  const size_t at = text->find(placeholder);
  if (at != std::string::npos) text->replace(at, placeholder.size(), value);
}

std::string ShortDescription(const std::string& help) {
  std::string text =
      help.substr(0, std::min({help.find(';'), help.find(" ("), help.find(": ")}));
  constexpr size_t kMax = 60;
  if (text.size() > kMax) {
    text.resize(kMax);
    if (const size_t space = text.rfind(' '); space != std::string::npos) text.resize(space);
    text += "...";
  }
  return text;
}

CompletionModel BuildCompletionModel() {
  CompletionModel model;
  AddOptions(GlobalOptionsTable(), nullptr, &model.global_options);
  for (const Command& command : kCommands) {
    const CommandSpec spec = command.spec();
    CompletionCommand entry{.name = spec.name,
                            .summary = std::string(command.summary),
                            .positionals = spec.positionals,
                            .files_only_with = spec.files_only_with};
    AddOptions(spec.options, &spec, &entry.options);
    AddOptions(CommonCommandOptions(), nullptr, &entry.options);
    model.commands.push_back(std::move(entry));
  }
  return model;
}

WordKind PositionalKind(const CompletionCommand& command, size_t positional) {
  if (command.positionals.empty()) return WordKind::kNothing;
  if (positional < command.positionals.size()) return command.positionals[positional].completes;
  const Positional& last = command.positionals.back();
  if (!last.many) return WordKind::kNothing;
  // exec -- CMD ARGS...: a program first, then its arguments (files, mostly).
  return last.completes == WordKind::kCommand ? WordKind::kFile : last.completes;
}

}  // namespace taskpool::cli
