#!/usr/bin/env python3
"""The man pages and the shipped config file agree with --help.

The options a program prints in --help are the truth; each page must
define exactly those (a .TP entry whose tag names the option) and name no
option anywhere that no program has:

  taskpoold(8)        OPTIONS: every option of `taskpoold --help`
  taskpoold.conf(5)   SETTINGS: every option a config file may set (all but
                      help, version, config, test-config, dump), by bare name
  taskpoold.conf      the shipped file: each of those, set or commented out
  taskpool(1)         OPTIONS: the global options of `taskpool --help`;
                      COMMANDS: one .SS per command of `taskpool --help`,
                      defining the options of `taskpool COMMAND --help`
                      other than the global ones every command repeats

Usage: check_man_pages.py --taskpoold BIN --taskpool BIN --man-dir DIR
                          --conf FILE
Prints every disagreement, then exits 1 if there was any.
"""

import argparse
import re
import subprocess
import sys

# Boost.ProgramOptions prints an option as "  --name ARG" or
# "  -h [ --help ]" at two spaces; continuation lines are indented further.
HELP_OPTION = re.compile(r"^  (?:-\w \[ )?--([a-z0-9][a-z0-9-]*)")
HELP_COMMAND = re.compile(r"^  ([a-z]+)\s")
# In roff source an option is written \-\-name.
ROFF_OPTION = re.compile(r"\\-\\-([a-z0-9](?:[a-z0-9]|\\-)*)")
# Only on the command line, never in a config file (daemon_config.cc).
COMMAND_LINE_ONLY = {"help", "version", "config", "test-config", "dump"}
# The options ParseCommand adds to every taskpool command.
EVERY_COMMAND = {"socket", "json", "help"}
# Options of other programs that the pages' examples use.
OTHER_PROGRAMS = {"now"}  # systemctl enable --now

problems = []


def problem(message):
    problems.append(message)
    print("FAIL: " + message, file=sys.stderr)


def run_help(argv):
    result = subprocess.run(argv + ["--help"], capture_output=True, text=True,
                            timeout=30)
    if result.returncode != 0:
        sys.exit(f"check_man_pages: {' '.join(argv)} --help exited "
                 f"{result.returncode}: {result.stderr}")
    return result.stdout


def help_options(text):
    return {m.group(1) for line in text.splitlines()
            if (m := HELP_OPTION.match(line))}


def help_commands(text):
    commands, inside = [], False
    for line in text.splitlines():
        if line.strip() == "Commands:":
            inside = True
        elif inside and not line.strip():
            break
        elif inside and (m := HELP_COMMAND.match(line)):
            commands.append(m.group(1))
    return commands


def unescape(name):
    return name.replace("\\-", "-")


class Page:
    """A man page's .TP tags, by section (.SH) and subsection (.SS)."""

    def __init__(self, path):
        self.path = path
        self.text = open(path, encoding="utf-8").read()
        self.tags = {}          # (section, subsection) -> [tag line, ...]
        self.subsections = {}   # section -> [subsection, ...]
        section = subsection = ""
        lines = self.text.splitlines()
        for i, line in enumerate(lines):
            if line.startswith(".SH"):
                section, subsection = self._title(line), ""
            elif line.startswith(".SS"):
                subsection = self._title(line)
                self.subsections.setdefault(section, []).append(subsection)
            elif line.startswith(".TP") and i + 1 < len(lines):
                self.tags.setdefault((section, subsection), []).append(lines[i + 1])

    @staticmethod
    def _title(line):
        # '.SS map [\fIOPTIONS\fP] ...' -> 'map'; '.SH "SEE ALSO"' -> 'SEE'
        words = line[3:].replace('"', " ").split()
        return words[0] if words else ""

    def defined_options(self, section, subsection=""):
        names = set()
        for tag in self.tags.get((section, subsection), []):
            names |= {unescape(n) for n in ROFF_OPTION.findall(tag)}
        return names

    def defined_settings(self, section):
        # ".BI "max\-in\-flight = " N" -> "max-in-flight"
        names = set()
        for tag in self.tags.get((section, ""), []):
            m = re.match(r'^\.\w+\s+"?((?:[a-z0-9]|\\-)+)', tag)
            if m:
                names.add(unescape(m.group(1)))
        return names

    def mentioned_options(self):
        return {unescape(n) for n in ROFF_OPTION.findall(self.text)}


def compare(where, documented, actual, source):
    for name in sorted(actual - documented):
        problem(f"{where}: --{name} is in `{source}` but not documented")
    for name in sorted(documented - actual):
        problem(f"{where}: documents --{name}, which `{source}` does not have")


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--taskpoold", required=True)
    parser.add_argument("--taskpool", required=True)
    parser.add_argument("--man-dir", required=True)
    parser.add_argument("--conf", required=True)
    args = parser.parse_args()

    daemon = help_options(run_help([args.taskpoold]))
    if len(daemon) < 10:
        sys.exit(f"check_man_pages: found only {sorted(daemon)} in "
                 "`taskpoold --help`; has its format changed?")
    settable = daemon - COMMAND_LINE_ONLY

    cli_help = run_help([args.taskpool])
    cli_global = help_options(cli_help)
    commands = help_commands(cli_help)
    if not commands:
        sys.exit("check_man_pages: no commands found in `taskpool --help`")
    per_command = {c: help_options(run_help([args.taskpool, c])) for c in commands}
    known = (daemon | cli_global | set().union(*per_command.values()) |
             OTHER_PROGRAMS)

    man = args.man_dir
    taskpoold = Page(f"{man}/taskpoold.8")
    compare("taskpoold.8 OPTIONS", taskpoold.defined_options("OPTIONS"), daemon,
            "taskpoold --help")

    conf_page = Page(f"{man}/taskpoold.conf.5")
    documented = conf_page.defined_settings("SETTINGS")
    for name in sorted(settable - documented):
        problem(f"taskpoold.conf.5 SETTINGS: '{name}' may be set in a config "
                "file (taskpoold --help) but is not documented")
    for name in sorted(documented - settable):
        problem(f"taskpoold.conf.5 SETTINGS: documents '{name}', which is not a "
                "config-file option of taskpoold --help")

    shipped = set()
    for line in open(args.conf, encoding="utf-8"):
        if m := re.match(r"^[#;]?\s*([a-z][a-z0-9-]*)\s*=", line):
            shipped.add(m.group(1))
    for name in sorted(settable - shipped):
        problem(f"{args.conf}: has no line (set or commented out) for '{name}'")
    for name in sorted(shipped - settable):
        problem(f"{args.conf}: sets '{name}', which is not a config-file option")

    taskpool = Page(f"{man}/taskpool.1")
    compare("taskpool.1 OPTIONS", taskpool.defined_options("OPTIONS"), cli_global,
            "taskpool --help")
    pages_commands = set(taskpool.subsections.get("COMMANDS", []))
    for name in sorted(set(commands) - pages_commands):
        problem(f"taskpool.1 COMMANDS: command '{name}' of taskpool --help has "
                "no .SS section")
    for name in sorted(pages_commands - set(commands)):
        problem(f"taskpool.1 COMMANDS: documents command '{name}', which "
                "taskpool --help does not list")
    for command, options in per_command.items():
        missing = EVERY_COMMAND - options
        if missing:
            problem(f"`taskpool {command} --help` lacks {sorted(missing)}, which "
                    "taskpool.1 says every command accepts")
        compare(f"taskpool.1 COMMANDS {command}",
                taskpool.defined_options("COMMANDS", command),
                options - EVERY_COMMAND, f"taskpool {command} --help")

    for page in (taskpoold, conf_page, taskpool):
        for name in sorted(page.mentioned_options() - known):
            problem(f"{page.path}: names --{name}, which neither taskpoold nor "
                    "taskpool has")

    if problems:
        print(f"{len(problems)} problem(s): the man pages in {man} or "
              f"{args.conf} disagree with --help", file=sys.stderr)
        return 1
    print(f"OK: taskpoold.8 ({len(daemon)} options), taskpoold.conf.5 and "
          f"{args.conf} ({len(settable)} settings), taskpool.1 "
          f"({len(cli_global)} global options, {len(commands)} commands) agree "
          "with --help")
    return 0


if __name__ == "__main__":
    sys.exit(main())
