//! What the hand-written clients share: a guard that marks a connection closed when a step is cut
//! short, and the decoding of a URL's credentials. A leaf: it takes nothing from its siblings.

/// Marks a connection closed unless disarmed: held across a step that leaves the connection
/// unusable if it is cut short (a caller's timeout dropping the future mid-write, or between a
/// request and its reply), so the next use connects again instead of reading a stale answer.
pub(crate) struct CloseUnlessDone<'a>(Option<&'a std::sync::atomic::AtomicBool>);

impl<'a> CloseUnlessDone<'a> {
    pub(crate) fn new(open: &'a std::sync::atomic::AtomicBool) -> Self {
        Self(Some(open))
    }

    /// The step completed: the connection is as good as before.
    pub(crate) fn done(mut self) {
        self.0 = None;
    }
}

impl Drop for CloseUnlessDone<'_> {
    fn drop(&mut self) {
        if let Some(open) = self.0 {
            open.store(false, std::sync::atomic::Ordering::Release);
        }
    }
}

/// `s` with its `%XX` escapes decoded (a URL's user and password).
pub(crate) fn percent_decode(s: &str) -> String {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%'
            && let Some(b) = s.get(i + 1..i + 3).and_then(|h| u8::from_str_radix(h, 16).ok())
        {
            out.push(b);
            i += 3;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}
