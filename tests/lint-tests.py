#!/usr/bin/env python3
"""lint-tests.py FILE...: finds && chains broken in the middle of test bodies.

A test body (the last argument of test_expect_success / test_expect_failure /
test_expect_code) and a shell function of a test script must not end an && chain
before its last command:

    step_one &&
    ops-tool ... >out; test $? -eq 2 &&      <- step_one's status 2 passes as the tool's
    test_grep foo out

The ';' (or a newline without '&&') ends the list "step_one && ops-tool ...": its status
is thrown away, so a failure of step_one is lost, or worse, read by `test $?` as if the
tool had returned it. Group the command whose status is read instead:
`step_one && { ops-tool ... >out; test $? -eq 2; } && test_grep foo out`.

The rule, on a parse of the shell (quotes, heredocs, $(...), compound commands): in
every command list of a body or function, a list joined by '&&' whose status is thrown
away (it is followed by ';' or a newline and then another command) is a finding, unless
its failure is handled on purpose: it ends in `|| true`, `|| :`, `|| exit/return ...`,
`|| { ...; exit/return ...; }`, or in `&& break/continue/return/exit` (a poll loop's or
a helper's conditional way out). A first command `cmd; test $? -eq N && ...` has no &&
before it and is fine. The top level of a script (outside bodies and functions) is not
checked; neither are the bodies of test_data_case cmd files.

A second rule: an && chain ending in '&' (`setup && cmd &`) puts the whole chain in the
background, as a subshell that ignores SIGINT (no job control), so `kill -INT $!` reaches
the subshell, not cmd, and is lost. Background the command alone, `setup && { cmd & }`,
or wrap the chain explicitly when it is meant, `{ setup && cmd; } &` or `( ... ) &`. Not understood (an error,
not a pass): a `case` inside $(...), whose pattern's ')' ends the substitution here.

Prints FILE:LINE: message for each finding; exits 1 if there was one, 2 if a file
could not be parsed, 0 otherwise. --self-test runs the examples at the end.
"""
import re
import sys

OPERATORS = ("&&", "||", ";;", "<<-", "<<", ">>", "<&", ">&", "<>", ">|",
             ";", "&", "|", "(", ")", "<", ">")
RESERVED_END = {"then", "else", "elif", "fi", "do", "done", "esac", "}", ")", ";;"}
TEST_FUNCS = {"test_expect_success": 2, "test_expect_failure": 2, "test_expect_code": 3}


class ParseError(Exception):
    pass


class Tok:
    """A word (kind 'w', text raw as written) or an operator / newline (kind 'op')."""
    def __init__(self, kind, text, line, value=None):
        self.kind, self.text, self.line = kind, text, line
        self.value = value  # a word's text after quote removal

    def is_op(self, *ops):
        return self.kind == "op" and self.text in ops

    def is_word(self, *words):
        return self.kind == "w" and self.text in words


class Lexer:
    """Splits shell source into words and operators; heredoc bodies are skipped."""
    def __init__(self, src, line=1):
        self.s, self.i, self.line = src, 0, line
        self.heredocs = []  # (delimiter, strip_tabs) waiting for the next newline

    def tokens(self):
        out = []
        while True:
            tok = self.next()
            if tok is None:
                return out
            out.append(tok)
            if tok.is_op("<<", "<<-"):
                word = self.next()
                if word is None or word.kind != "w":
                    raise ParseError("line %d: heredoc without a delimiter" % tok.line)
                out.append(word)
                self.heredocs.append((word.value, tok.text == "<<-"))

    def next(self):
        s = self.s
        while self.i < len(s):
            c = s[self.i]
            if c in " \t":
                self.i += 1
            elif s.startswith("\\\n", self.i):
                self.i += 2
                self.line += 1
            elif c == "#":
                while self.i < len(s) and s[self.i] != "\n":
                    self.i += 1
            elif c == "\n":
                tok = Tok("op", "\n", self.line)
                self.i += 1
                self.line += 1
                self.read_heredocs()
                return tok
            else:
                for op in OPERATORS:
                    if s.startswith(op, self.i):
                        self.i += len(op)
                        return Tok("op", op, self.line)
                return self.word()
        return None

    def read_heredocs(self):
        for delim, strip in self.heredocs:
            while True:
                if self.i >= len(self.s):
                    raise ParseError("heredoc %s not terminated" % delim)
                end = self.s.find("\n", self.i)
                end = len(self.s) if end < 0 else end
                text = self.s[self.i:end]
                self.i = end + 1
                self.line += 1
                if (text.lstrip("\t") if strip else text) == delim:
                    break
        self.heredocs = []

    def word(self):
        s, start, line, value = self.s, self.i, self.line, []
        while self.i < len(s):
            c = s[self.i]
            if c in " \t\n;&|()<>":
                break
            if c == "'":
                end = s.find("'", self.i + 1)
                if end < 0:
                    raise ParseError("line %d: unterminated '" % line)
                value.append(s[self.i + 1:end])
                self.count_lines(self.i, end + 1)
                self.i = end + 1
            elif c == '"':
                value.append(self.double_quoted())
            elif c == "\\":
                value.append(s[self.i + 1:self.i + 2])
                self.count_lines(self.i, self.i + 2)
                self.i += 2
            elif c == "$" and s.startswith("$(", self.i) or c == "`":
                begin = self.i
                self.skip_expansion()
                value.append(s[begin:self.i])
            elif c == "$" and s.startswith("${", self.i):
                begin = self.i
                self.skip_balanced("{", "}")
                value.append(s[begin:self.i])
            else:
                value.append(c)
                self.i += 1
        return Tok("w", s[start:self.i], line, "".join(value))

    def count_lines(self, a, b):
        self.line += self.s.count("\n", a, b)

    def double_quoted(self):
        s, value = self.s, []
        self.i += 1
        while self.i < len(s) and s[self.i] != '"':
            c = s[self.i]
            if c == "\\" and self.i + 1 < len(s):
                nxt = s[self.i + 1]
                value.append(nxt if nxt in '$`"\\' else ("" if nxt == "\n" else c + nxt))
                self.count_lines(self.i, self.i + 2)
                self.i += 2
            elif c == "$" and s.startswith("$(", self.i) or c == "`":
                begin = self.i
                self.skip_expansion()
                value.append(s[begin:self.i])
            else:
                value.append(c)
                self.count_lines(self.i, self.i + 1)
                self.i += 1
        if self.i >= len(s):
            raise ParseError('unterminated "')
        self.i += 1
        return "".join(value)

    def skip_expansion(self):
        """Skips $(...), $((...)) or `...`, nested quotes included."""
        if self.s[self.i] == "`":
            end = self.i + 1
            while end < len(self.s) and self.s[end] != "`":
                end += 2 if self.s[end] == "\\" else 1
            self.count_lines(self.i, end + 1)
            self.i = end + 1
            return
        self.skip_balanced("(", ")")

    def skip_balanced(self, open_c, close_c):
        s, depth = self.s, 0
        self.i += 1  # the '$'
        while self.i < len(s):
            c = s[self.i]
            if c == open_c:
                depth += 1
            elif c == close_c:
                depth -= 1
                if depth == 0:
                    self.i += 1
                    return
            if c == "'" and open_c == "(":
                end = s.find("'", self.i + 1)
                if end < 0:
                    raise ParseError("unterminated '")
                self.count_lines(self.i, end)
                self.i = end
            elif c == '"':
                self.double_quoted()
                continue
            elif c == "\\":
                self.i += 1
            elif c == "\n":
                self.line += 1
            self.i += 1
        raise ParseError("unterminated $%s" % open_c)


def handled(op, last_command):
    """A chain's failure is handled, not lost, when it ends in `|| true`, `|| :`,
    `|| exit/return`, `|| { ...; exit/return; }`, or `&& break/continue/return/exit`
    (a conditional jump out of a poll loop or helper)."""
    if op == "||":
        return last_command in ("true", ":", "exit", "return")
    return op == "&&" and last_command in ("break", "continue", "return", "exit")


class Parser:
    """A recursive-descent parse of the POSIX sh grammar that only keeps what the rule
    needs: every command list, as its and-or lists, and where bodies and functions are."""
    def __init__(self, toks, report, check):
        self.t, self.k, self.report, self.check = toks, 0, report, check
        self.bodies = []    # (line of the body, its text) of test_expect_* calls
        self.functions = 0  # depth of function definitions being parsed

    def peek(self):
        """The next token; past the last one, an "eof" token that is neither a word nor
        an operator."""
        if self.k < len(self.t):
            return self.t[self.k]
        return Tok("eof", "", self.t[-1].line if self.t else 1)

    def take(self):
        tok = self.peek()
        if tok.kind == "eof":
            raise ParseError("line %d: unexpected end" % tok.line)
        self.k += 1
        return tok

    def skip_newlines(self):
        while self.peek().is_op("\n"):
            self.k += 1

    def expect_word(self, word):
        tok = self.take()
        if not tok.is_word(word):
            raise ParseError("line %d: %s expected" % (tok.line, word))

    def at_list_end(self):
        tok = self.peek()
        return tok.kind == "eof" or tok.text in RESERVED_END

    def compound_list(self):
        """and-or lists up to a closing word; checks the ones whose status is lost.
        Returns the words of the last simple command, [] if it was not simple."""
        checking = self.check or self.functions > 0
        self.skip_newlines()
        words = []
        while not self.at_list_end():
            has_and, ignored, line, words = self.and_or()
            sep = self.peek()
            if sep.is_op(";", "&", "\n"):
                self.take()
                self.skip_newlines()
                if checking and has_and and sep.is_op("&"):
                    self.report(sep.line, "the && chain from line %d is put in the background "
                                "whole by its '&': $! is then a subshell that ignores SIGINT, "
                                "not the command (background the command alone: "
                                "a && { cmd & } && pid=$!; or say so: { a && b; } &)" % line)
                if (checking and has_and and not ignored and not sep.is_op("&")
                        and not self.at_list_end()):
                    self.report(sep.line, "the && chain from line %d ends at %s before the "
                                "body's end: a failure in it is lost (group the command whose "
                                "status is read: a && { cmd; test $? -eq N; } && b)"
                                % (line, "a newline" if sep.text == "\n" else "';'"))
            elif not self.at_list_end():
                raise ParseError("line %d: unexpected %r" % (sep.line, sep.text))
        return words

    def and_or(self):
        """Returns whether it has an &&, whether its status is handled by its last
        command (below), its first line and the words of its last simple command."""
        has_and, op, line = False, None, self.peek().line
        while True:
            words = self.pipeline() or [""]
            tok = self.peek()
            if not tok.is_op("&&", "||"):
                return has_and, handled(op, words[0]), line, words
            has_and, op = has_and or tok.text == "&&", tok.text
            self.take()
            self.skip_newlines()

    def pipeline(self):
        if self.peek().is_word("!"):
            self.take()
        while True:
            words = self.command()
            if not self.peek().is_op("|"):
                return words
            self.take()
            self.skip_newlines()

    def command(self):
        """Parses one command; returns its words if it is a simple command, those of
        the group's last command if it is a { group }, else []."""
        tok = self.peek()
        if tok.is_op("("):
            self.take()
            self.compound_list()
            self.close(")")
        elif tok.is_word("{"):
            self.take()
            words = self.compound_list()
            self.expect_word("}")
            self.redirections()
            return words
        elif tok.is_word("if", "while", "until", "for", "case"):
            getattr(self, "cmd_" + tok.text.replace("until", "while"))()
        elif (tok.kind == "w" and self.k + 2 < len(self.t) and self.t[self.k + 1].is_op("(")
              and self.t[self.k + 2].is_op(")")):
            self.k += 3
            self.skip_newlines()
            self.functions += 1
            self.command()
            self.functions -= 1
        else:
            return self.simple_command()
        self.redirections()
        return []

    def close(self, op):
        tok = self.take()
        if not tok.is_op(op):
            raise ParseError("line %d: %s expected" % (tok.line, op))

    def redirections(self):
        words = []
        while self.peek().kind != "eof":
            tok = self.peek()
            if tok.is_op("<<-", "<<", ">>", "<&", ">&", "<>", ">|", "<", ">"):
                self.take()
                self.take()
            elif tok.kind == "w" and re.fullmatch(r"[0-9]+", tok.text) and \
                    self.k + 1 < len(self.t) and self.t[self.k + 1].text[0] in "<>":
                self.take()
            elif tok.kind == "w":
                words.append(self.take())
            else:
                break
        return words

    def simple_command(self):
        start = self.k
        words = self.redirections()
        if self.k == start:
            tok = self.peek()
            raise ParseError("line %d: command expected, got %r" % (tok.line, tok.text))
        names = [w for w in words if not re.match(r"[A-Za-z_][A-Za-z0-9_]*=", w.text)]
        if names and names[0].text in TEST_FUNCS and len(names) > TEST_FUNCS[names[0].text]:
            body = names[TEST_FUNCS[names[0].text]]
            self.bodies.append((body.line, body.value))
        return [w.text for w in words]

    def cmd_if(self):
        self.take()
        while True:
            self.compound_list()
            self.expect_word("then")
            self.compound_list()
            tok = self.take()
            if tok.is_word("fi"):
                return
            if tok.is_word("else"):
                self.compound_list()
                self.expect_word("fi")
                return
            if not tok.is_word("elif"):
                raise ParseError("line %d: fi expected" % tok.line)

    def cmd_while(self):
        self.take()
        self.compound_list()
        self.do_group()

    def do_group(self):
        self.expect_word("do")
        self.compound_list()
        self.expect_word("done")

    def cmd_for(self):
        self.take()
        self.take()  # the variable
        self.skip_newlines()
        if self.peek().is_word("in"):
            while self.take().kind == "w":
                pass
        elif self.peek().is_op(";"):
            self.take()
        self.skip_newlines()
        self.do_group()

    def cmd_case(self):
        self.take()
        self.take()  # the word
        self.skip_newlines()
        self.expect_word("in")
        self.skip_newlines()
        while not self.peek().is_word("esac"):
            if self.peek().is_op("("):
                self.take()
            while not self.take().is_op(")"):  # patterns: words and '|'
                pass
            self.compound_list()
            if self.peek().is_op(";;"):
                self.take()
            self.skip_newlines()
        self.take()


def check_source(src, line, check, report):
    """Parses src (starting at line); checks it if check (else only its functions), and
    each test body in it."""
    parser = Parser(Lexer(src, line).tokens(), report, check)
    parser.compound_list()
    if parser.peek().kind != "eof":
        raise ParseError("line %d: unexpected %r" % (parser.peek().line, parser.peek().text))
    for body_line, body in parser.bodies:
        check_source(body, body_line, True, report)


def lint(name, src):
    """The findings in one file, as 'name:line: message' strings."""
    found = []

    def report(line, msg):
        found.append("%s:%d: %s" % (name, line, msg))
    check_source(src, 1, False, report)
    return found


SELF_TESTS = [
    # (body, number of findings)
    ("a &&\nb; test $? -eq 2 &&\nc", 1),
    ("a; test $? -eq 2 &&\nc", 0),
    ("a && { b; test $? -eq 2; } && c", 0),
    ("a && b >out; rc=$?\ntest $rc = 1", 1),
    ("a &&\nb\nc", 1),
    ("a &&\nb\n", 0),
    ("a && rm -f x || true\nc", 0),
    ("a && { b && c; test $? -eq 2; }", 1),
    ("cat >x <<-\\EOF &&\n\ta && b; c\n\tEOF\ny", 0),
    ("x; test $? -eq 1 &&\ncat >x <<-\\EOF &&\n\ta\n\tEOF\ny; test $? -eq 1", 1),
    ("if a && b; then c && d; fi && e", 0),
    ("for i in 1 2; do a && b; c; done", 1),
    ("x=$(a && b; c) && d", 0),
    ("a && echo 'x; y' && b", 0),
    ("case $x in\n(a) b && c;;\n*) d;;\nesac", 0),
    ("a && b &\nwait", 1),
    ("a | b && c >out 2>err &\npid=$! && kill -INT $pid", 1),
    ("a && { b & } && pid=$! && kill -INT $pid", 0),
    ("{ a && b; } &\n( a && b ) &\na | b &\nwait", 0),
    ("a && b || { cat log; exit 1; }\nc", 0),
    ("a && b || return 1\nc", 0),
    ("while x; do a && b && break\nsleep 1; done", 0),
    ("a && b || echo failed\nc", 1),
    ("a && >out\nb", 1),
]


def self_test():
    bad = 0
    for body, want in SELF_TESTS:
        src = "test_expect_success 'd' '%s'\n" % body.replace("'", "'\\''")
        got = lint("self", src)
        if len(got) != want:
            bad += 1
            print("self-test: %r: %d finding(s), want %d: %s" % (body, len(got), want, got))
    fn = lint("self", "f() {\n\ta &&\n\tb >out 2>&1\n\techo $? >rc\n}\na && b; c\n")
    if len(fn) != 1 or ":3:" not in fn[0]:
        bad += 1
        print("self-test: function: %s" % fn)
    print("self-test: %d of %d failed" % (bad, len(SELF_TESTS) + 1))
    return 1 if bad else 0


def main(argv):
    if argv == ["--self-test"]:
        return self_test()
    status = 0
    for name in argv:
        try:
            with open(name, encoding="utf-8") as f:
                found = lint(name, f.read())
        except (ParseError, OSError, UnicodeDecodeError) as e:
            print("%s: cannot parse: %s" % (name, e))
            status = 2
            continue
        for line in found:
            print(line)
        if found and status == 0:
            status = 1
    return status


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
