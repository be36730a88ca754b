// `taskpool completion bash|zsh|fish`: shell completion scripts generated
// from the very tables the CLI parses its arguments with (the global
// options and each command's CommandSpec), so a new option completes the
// day it is added. Function names complete from the running daemon
// (`taskpool functions --names`, with the --socket given on the line so
// far), and to nothing when none answers.
#pragma once

#include <string>
#include <vector>

#include "cli/cli_options.h"

namespace taskpool::cli {

struct CompletionOption {
  std::string long_name;  // "chunksize"
  char short_name = 0;    // 'a' for -a; 0: none
  bool takes_value = false;
  WordKind value_kind = WordKind::kNothing;  // FILE and DIR values
  std::vector<std::string> choices;          // a closed set of values
  std::string description;                   // one short clause
};

struct CompletionCommand {
  std::string name;
  std::string summary;
  std::vector<CompletionOption> options = {};  // its own and the common ones
  std::vector<Positional> positionals = {};
  std::string files_only_with = {};  // see CommandSpec
};

struct CompletionModel {
  std::vector<CompletionOption> global_options;
  std::vector<CompletionCommand> commands;
};

// Everything taskpool accepts, from kCommands and the option tables.
CompletionModel BuildCompletionModel();

// What the words of `kind` complete to at `positional` (0-based) of
// `command`, WordKind::kNothing past its last positional.
WordKind PositionalKind(const CompletionCommand& command, size_t positional);

// The first clause of an option's help, short enough for a completion
// menu: up to the first ';', " (" or ": ", and at most 60 characters.
std::string ShortDescription(const std::string& help);

// The words joined by single spaces.
std::string Join(const std::vector<std::string>& words);
// Replaces the first `placeholder` ("@NAME@") in a script template.
void ReplacePlaceholder(std::string* text, const std::string& placeholder,
                        const std::string& value);

std::string BashCompletionScript(const CompletionModel& model);
std::string ZshCompletionScript(const CompletionModel& model);
std::string FishCompletionScript(const CompletionModel& model);

}  // namespace taskpool::cli
