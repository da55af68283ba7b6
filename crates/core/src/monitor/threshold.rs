//! Thresholds as users write them: `"> 80"`, `">= 0.95"`, `"< 5"`, `"== 0"`, `"!= 200"`,
//! `"outside 10..90"`, `"inside 10..90"`.

use std::fmt;

/// A comparison a value either meets (the tier applies) or not.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Threshold {
    /// `> x`
    Above(f64),
    /// `>= x`
    AtLeast(f64),
    /// `< x`
    Below(f64),
    /// `<= x`
    AtMost(f64),
    /// `== x`
    Equal(f64),
    /// `!= x`
    NotEqual(f64),
    /// `outside a..b`: below `a` or above `b`.
    Outside(f64, f64),
    /// `inside a..b`: from `a` to `b`, both included.
    Inside(f64, f64),
}

/// Why a `warning` threshold can never be the tier read, when every value it takes is critical
/// too (`warning: "> 95"` with `critical: "> 80"`: the thresholds are the wrong way round).
pub fn shadowed(warning: Threshold, critical: Threshold) -> Option<String> {
    use Threshold::{Above, AtLeast, AtMost, Below};
    let inside = match (warning, critical) {
        (Above(w) | AtLeast(w), Above(c)) => w > c,
        (Above(w) | AtLeast(w), AtLeast(c)) => w >= c,
        (Below(w) | AtMost(w), Below(c)) => w < c,
        (Below(w) | AtMost(w), AtMost(c)) => w <= c,
        _ => false,
    };
    inside.then(|| {
        "every value past this warning threshold is past the critical one too, so no value is ever a \
         warning: are the two the wrong way round?"
            .to_string()
    })
}

impl Threshold {
    /// Parses the text form; a bare number means `>=` it.
    pub fn parse(text: &str) -> Result<Threshold, String> {
        let t = text.trim();
        let number = |s: &str| -> Result<f64, String> {
            let s = s.trim().trim_end_matches('%');
            s.parse::<f64>().ok().filter(|f| f.is_finite()).ok_or_else(|| format!("`{text}`: `{s}` is not a number"))
        };
        let range = |s: &str| -> Result<(f64, f64), String> {
            let (a, b) = s.split_once("..").ok_or_else(|| format!("`{text}`: a range is written `low..high`"))?;
            let (a, b) = (number(a)?, number(b)?);
            if a > b {
                return Err(format!("`{text}`: the range's low end is above its high end"));
            }
            Ok((a, b))
        };
        for (op, make) in [
            (">=", Threshold::AtLeast as fn(f64) -> Threshold),
            ("<=", Threshold::AtMost),
            ("==", Threshold::Equal),
            ("!=", Threshold::NotEqual),
            (">", Threshold::Above),
            ("<", Threshold::Below),
        ] {
            if let Some(rest) = t.strip_prefix(op) {
                return number(rest).map(make);
            }
        }
        if let Some(rest) = t.strip_prefix("outside") {
            return range(rest).map(|(a, b)| Threshold::Outside(a, b));
        }
        if let Some(rest) = t.strip_prefix("inside") {
            return range(rest).map(|(a, b)| Threshold::Inside(a, b));
        }
        number(t).map(Threshold::AtLeast).map_err(|_| {
            format!(
                "`{text}` is not a threshold: write a comparison such as `> 80`, `<= 5`, `!= 200` or `outside 10..90`"
            )
        })
    }

    /// Whether `value` meets it.
    pub fn met_by(self, value: f64) -> bool {
        match self {
            Threshold::Above(x) => value > x,
            Threshold::AtLeast(x) => value >= x,
            Threshold::Below(x) => value < x,
            Threshold::AtMost(x) => value <= x,
            Threshold::Equal(x) => value == x,
            Threshold::NotEqual(x) => value != x,
            Threshold::Outside(a, b) => value < a || value > b,
            Threshold::Inside(a, b) => (a..=b).contains(&value),
        }
    }
}

impl fmt::Display for Threshold {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Threshold::Above(x) => write!(f, "> {x}"),
            Threshold::AtLeast(x) => write!(f, ">= {x}"),
            Threshold::Below(x) => write!(f, "< {x}"),
            Threshold::AtMost(x) => write!(f, "<= {x}"),
            Threshold::Equal(x) => write!(f, "== {x}"),
            Threshold::NotEqual(x) => write!(f, "!= {x}"),
            Threshold::Outside(a, b) => write!(f, "outside {a}..{b}"),
            Threshold::Inside(a, b) => write!(f, "inside {a}..{b}"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn comparisons_parse_and_apply() {
        let cases = [
            ("> 80", 80.0, false),
            ("> 80", 80.5, true),
            (">=80", 80.0, true),
            ("< 5", 4.9, true),
            ("<= 5%", 5.0, true),
            ("== 0", 0.0, true),
            ("!= 200", 200.0, false),
            ("outside 10..90", 95.0, true),
            ("outside 10..90", 50.0, false),
            ("inside 10..90", 10.0, true),
            ("95", 95.0, true),
        ];
        for (text, value, met) in cases {
            assert_eq!(Threshold::parse(text).unwrap().met_by(value), met, "{text} with {value}");
        }
        assert_eq!(Threshold::parse(">= 0.95").unwrap().to_string(), ">= 0.95");
    }

    #[test]
    fn mistakes_are_named() {
        assert!(Threshold::parse("> eighty").unwrap_err().contains("`eighty` is not a number"));
        assert!(Threshold::parse("outside 90..10").unwrap_err().contains("low end"));
        assert!(Threshold::parse("about 5").unwrap_err().contains("not a threshold"));
        assert!(Threshold::parse("> NaN").is_err());
    }
}
