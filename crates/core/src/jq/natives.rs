//! The native filters vigil's jq programs get: jaq's core, standard and JSON ones, with the few
//! that would escape the evaluation's budget or the server's boundary replaced.
//!
//! - `range` produces its values without evaluating a filter per value, so it counts a step per
//!   value itself (`[range(1e9)]` stops at the memory or time limit instead of aborting the
//!   process).
//! - `env` would hand the server's environment (with `VIGIL_SECRET_KEY`, say) to any definition:
//!   it fails instead. Definitions reach environment variables through `${env.NAME}`, which is
//!   scrubbed from what is stored.
//! - `stderr` would write to the server's log: it passes its input on and prints nothing, so
//!   `halt_error` fails the task with the halt reason.
//!
//! `halt` and `halt_error` are handled where results are read (the evaluation ends with an error);
//! jaq's own reader would exit the process.

use jaq_core::box_iter::box_once;
use jaq_core::native::{Fun, v};
use jaq_core::{Cv, DataT, Error, Exn, Native, ValX, ValXs};
use jaq_json::Val;

use super::guard::{Guarded, step};

/// Names replaced here; jaq's versions of them are left out.
const REPLACED: [&str; 3] = ["range", "env", "stderr_empty"];

/// Every native filter, with the replacements.
pub fn all() -> impl Iterator<Item = Fun<Guarded>> {
    let jaq = jaq_core::funs().chain(jaq_std::funs()).chain(jaq_json::funs());
    jaq.filter(|(name, ..)| !REPLACED.contains(name)).chain(replacements())
}

fn replacements() -> [Fun<Guarded>; 3] {
    [
        ("range", v(3), Native::<Guarded>::new(counted_range)),
        ("env", v(0), Native::<Guarded>::new(no_env)),
        ("stderr_empty", v(0), Native::<Guarded>::new(no_stderr)),
    ]
}

/// What jaq's natives yield for `Guarded`.
type Out<'a> = ValXs<'a, <Guarded as DataT>::V<'a>>;

fn no_env(_: Cv<'_, Guarded>) -> Out<'_> {
    refuse("`env` is not available in vigil (use ${env.NAME} in inputParameters)")
}

fn no_stderr(_: Cv<'_, Guarded>) -> Out<'_> {
    Box::new(std::iter::empty())
}

fn refuse<'a>(message: &'static str) -> Out<'a> {
    box_once(Err(Exn::from(Error::str(message))))
}

/// `range($from; $upto; $by)`, as jaq's, with one budget step per value.
fn counted_range(mut cv: Cv<'_, Guarded>) -> Out<'_> {
    let by = cv.0.pop_var();
    let to = cv.0.pop_var();
    let from = cv.0.pop_var();
    Box::new(range(Ok(from), to, by).inspect(|_| step()))
}

fn range<'a>(mut from: ValX<'a, Val>, to: Val, by: Val) -> impl Iterator<Item = ValX<'a, Val>> {
    use std::cmp::Ordering::{Equal, Greater, Less};
    let cmp = by.partial_cmp(&Val::from(0isize)).unwrap_or(Equal);
    std::iter::from_fn(move || match from.clone() {
        Ok(x) => match cmp {
            Greater => x < to,
            Less => x > to,
            Equal => x != to,
        }
        .then(|| std::mem::replace(&mut from, (x + by.clone()).map_err(Exn::from))),
        e @ Err(_) => {
            from = Ok(to.clone());
            Some(e)
        }
    })
}
