//! The list of sources, declared once (`sources!` in `sources/mod.rs`): one line per source
//! folder, naming its [`SourceKind`](vigil_core::monitor::SourceKind) variant and its settings
//! type. The macro writes [`Source`](super::Source), reading a `source:` block into it, and
//! asking it; a source listed in core's `source_kinds!` but not here fails to compile, pointing
//! at this list.

/// Declares [`Source`](super::Source) from `Variant(folder::SettingsType)` lines.
macro_rules! sources {
    ($($(#[$doc:meta])* $variant:ident($($config:ident)::+),)*) => {
        /// A configured source, built to run. Each variant is shared: the enum would otherwise be
        /// as large as its largest source (432 bytes) for every monitor, whichever it runs, and a
        /// check under way holds a clone without another allocation around the enum.
        #[derive(Debug, Clone, PartialEq)]
        pub enum Source {
            $($(#[$doc])* $variant(std::sync::Arc<<$($config)::+ as SourceConfig>::Built>),)*
        }

        impl Source {
            /// Reads a monitor's `source` block (its credentials substituted, or still
            /// references when `vigil validate` reads it) into the source that runs.
            pub fn from_spec(spec: &SourceSpec) -> Result<Source, SourceProblem> {
                match spec.kind {
                    $(SourceKind::$variant => {
                        typed::<$($config)::+>(&spec.config)?.build().map(|built| Source::$variant(std::sync::Arc::new(built)))
                    })*
                    SourceKind::Heartbeat => Err(SourceProblem {
                        path: String::new(),
                        message: "a heartbeat is pinged, not asked: it has no source to read".into(),
                    }),
                }
            }

            /// The conditions it is judged by, when it is a check in Gatus' style.
            pub fn judge(&self) -> Option<&conditions::Judge> {
                match self {
                    $(Source::$variant(s) => Ask::judge(&**s),)*
                }
            }
        }

        /// Each source's name in a `source:` block and the JSON Schema of its settings, with the
        /// schemas those refer to (generated from the settings type: `crate::schema`).
        pub fn schemas() -> Vec<(&'static str, serde_json::Value, serde_json::Map<String, serde_json::Value>)> {
            vec![$({
                let (schema, defs) = crate::schema::json_schema::<$($config)::+>();
                (SourceKind::$variant.name(), schema, defs)
            },)*]
        }

        /// Asks `source` once; `now` is the engine's clock.
        pub async fn ask_at(client: &reqwest::Client, source: &Source, now: vigil_core::time::Millis) -> Answer {
            // Not boxed here: a future is as large as its largest state, so every source but
            // plain HTTP (the checks that run most) boxes its own call, and an HTTP check
            // allocates no future.
            match source {
                $(Source::$variant(s) => Ask::ask(&**s, client, now).await,)*
            }
        }
    };
}

pub(crate) use sources;
