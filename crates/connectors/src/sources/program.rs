//! Finding a program a check runs (Chromium for a browser check, OpenSSH's client for an SSH
//! login): the path an environment variable names, else the first of its names on `PATH`.

use std::path::PathBuf;

/// The program `variable` names, else the first of `names` on `PATH`; `Ok(None)` when there is
/// none, an error when `variable` names something that is not a file.
pub fn find(variable: &str, names: &[&str]) -> Result<Option<PathBuf>, String> {
    if let Some(given) = std::env::var_os(variable).filter(|v| !v.is_empty()) {
        let path = PathBuf::from(given);
        return if path.is_file() {
            Ok(Some(path))
        } else {
            Err(format!("{variable} names `{}`, which is not a file", path.display()))
        };
    }
    let path = std::env::var_os("PATH").unwrap_or_default();
    Ok(names.iter().find_map(|name| std::env::split_paths(&path).map(|dir| dir.join(name)).find(|c| c.is_file())))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_variable_naming_no_file_is_an_error_and_path_is_searched_in_order() {
        // Through a variable no other test sets: tests run in parallel in one environment.
        let variable = "VIGIL_TEST_PROGRAM_NOT_SET_ANYWHERE";
        assert_eq!(find(variable, &["no-such-program-here"]).unwrap(), None);
        let sh = find(variable, &["no-such-program-here", "sh"]).unwrap().expect("sh is on PATH");
        assert!(sh.ends_with("sh"), "{}", sh.display());
    }
}
