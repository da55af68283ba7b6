//! The tokens of Alertmanager's matchers, as `matcher/parse/lexer.go` scans them (UTF-8 label
//! names and values, quoted or not), with its positions: a token knows its byte offsets and its
//! columns (runes), which the error messages give as `start:end`.

/// What a token is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Kind {
    Eof,
    OpenBrace,
    CloseBrace,
    Comma,
    Equals,
    NotEquals,
    Matches,
    NotMatches,
    Quoted,
    Unquoted,
}

/// A token and where it is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct Token {
    pub kind: Kind,
    pub value: String,
    pub column_start: usize,
    pub column_end: usize,
}

impl Token {
    pub fn is_one_of(&self, kinds: &[Kind]) -> bool {
        kinds.contains(&self.kind)
    }
}

/// The lexer's state: byte offsets and rune columns.
#[derive(Debug, Clone)]
pub(super) struct Lexer<'a> {
    input: &'a str,
    err: Option<String>,
    start: usize,
    pos: usize,
    width: usize,
    column: usize,
    cols: usize,
}

fn is_reserved(r: char) -> bool {
    r.is_whitespace() || "{}!=~,\\\"'`".contains(r)
}

impl<'a> Lexer<'a> {
    pub fn new(input: &'a str) -> Self {
        Self { input, err: None, start: 0, pos: 0, width: 0, column: 0, cols: 0 }
    }

    /// The columns of the token being scanned.
    pub fn column_end(&self) -> usize {
        self.cols
    }

    /// The next token, or the error that stops the scan (kept: every later scan returns it).
    pub fn scan(&mut self) -> Result<Token, String> {
        if let Some(e) = &self.err {
            return Err(e.clone());
        }
        while let Some(r) = self.next() {
            let result = match r {
                '{' => Ok(self.emit(Kind::OpenBrace)),
                '}' => Ok(self.emit(Kind::CloseBrace)),
                ',' => Ok(self.emit(Kind::Comma)),
                '=' | '!' => {
                    self.rewind();
                    self.scan_operator()
                }
                '"' => {
                    self.rewind();
                    self.scan_quoted()
                }
                r if !is_reserved(r) => {
                    self.rewind();
                    Ok(self.scan_unquoted())
                }
                r if r.is_whitespace() => {
                    self.skip();
                    continue;
                }
                _ => {
                    Err(format!("{}:{}: {}: invalid input", self.column, self.cols, &self.input[self.start..self.pos]))
                }
            };
            if let Err(e) = &result {
                self.err = Some(e.clone());
            }
            return result;
        }
        Ok(Token { kind: Kind::Eof, value: String::new(), column_start: self.column, column_end: self.cols })
    }

    /// The next token without taking it.
    pub fn peek(&mut self) -> Result<Token, String> {
        let saved = (self.start, self.pos, self.width, self.column, self.cols);
        let t = self.scan();
        (self.start, self.pos, self.width, self.column, self.cols) = saved;
        t
    }

    fn scan_operator(&mut self) -> Result<Token, String> {
        if self.accept("!") {
            if self.accept("=") {
                return Ok(self.emit(Kind::NotEquals));
            }
            if self.accept("~") {
                return Ok(self.emit(Kind::NotMatches));
            }
            return Err(self.expected("=~"));
        }
        if self.accept("=") {
            if self.accept("~") {
                return Ok(self.emit(Kind::Matches));
            }
            return Ok(self.emit(Kind::Equals));
        }
        Err(self.expected("!="))
    }

    fn scan_quoted(&mut self) -> Result<Token, String> {
        if !self.accept("\"") {
            return Err(self.expected("\""));
        }
        let mut escaped = false;
        while let Some(r) = self.next() {
            if escaped {
                escaped = false;
            } else if r == '\\' {
                escaped = true;
            } else if r == '"' {
                self.rewind();
                break;
            }
        }
        if !self.accept("\"") {
            return Err(format!(
                "{}:{}: {}: missing end \"",
                self.column,
                self.cols,
                &self.input[self.start..self.pos]
            ));
        }
        Ok(self.emit(Kind::Quoted))
    }

    fn scan_unquoted(&mut self) -> Token {
        while let Some(r) = self.next() {
            if is_reserved(r) {
                self.rewind();
                break;
            }
        }
        self.emit(Kind::Unquoted)
    }

    fn expected(&self, what: &str) -> String {
        if self.pos >= self.input.len() {
            format!("{}:{}: unexpected end of input, expected one of '{what}'", self.column, self.cols)
        } else {
            format!("{}:{}: {}: expected one of '{what}'", self.column, self.cols, &self.input[self.start..self.pos])
        }
    }

    fn accept(&mut self, valid: &str) -> bool {
        match self.next() {
            Some(r) if valid.contains(r) => true,
            _ => {
                self.rewind();
                false
            }
        }
    }

    fn emit(&mut self, kind: Kind) -> Token {
        let t = Token {
            kind,
            value: self.input[self.start..self.pos].to_string(),
            column_start: self.column,
            column_end: self.cols,
        };
        self.start = self.pos;
        self.column = self.cols;
        t
    }

    fn next(&mut self) -> Option<char> {
        let Some(r) = self.input[self.pos..].chars().next() else {
            self.width = 0;
            return None;
        };
        self.width = r.len_utf8();
        self.pos += self.width;
        self.cols += 1;
        Some(r)
    }

    fn rewind(&mut self) {
        self.pos -= self.width;
        if self.width > 0 {
            self.cols -= 1;
        }
    }

    fn skip(&mut self) {
        self.start = self.pos;
        self.column = self.cols;
    }
}
