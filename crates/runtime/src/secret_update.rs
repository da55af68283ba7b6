//! UPDATE_SECRET: seals a value a workflow produced (a refreshed token), stores it, and puts it in
//! use on this node at once. Other nodes and the notifiers follow the store (`vigil serve`'s
//! secret watcher) within a second.

use std::sync::{Arc, RwLock};

use serde_json::json;
use vigil_core::interpreter::TaskResult;
use vigil_core::time::Millis;
use vigil_store::{SecretBox, Store};

use crate::secrets::SecretValues;

/// Where an update goes: the store, the key that seals it, and the values this node uses.
pub(crate) struct SecretTarget<'a> {
    pub store: &'a dyn Store,
    pub sealer: Option<&'a SecretBox>,
    pub in_use: &'a RwLock<Arc<SecretValues>>,
}

/// Stores secret `name` as `value` and reports the task's result (which never holds the value).
pub(crate) async fn update(target: SecretTarget<'_>, name: &str, value: &str, now: Millis) -> TaskResult {
    let Some(sealer) = target.sealer else {
        return TaskResult::Failed {
            reason: "this engine has no secret key to seal secrets with (run it with `vigil serve`)".into(),
            output: json!({}),
            terminal: true,
        };
    };
    if let Err(e) = target.store.put_secret(name, &sealer.seal(value.as_bytes()), now).await {
        return TaskResult::Failed {
            reason: format!("storing secret `{name}`: {e}"),
            output: json!({}),
            terminal: false,
        };
    }
    let mut in_use = target.in_use.write().expect("lock");
    *in_use = Arc::new(in_use.with_secret(name, value));
    TaskResult::Completed(json!({"secretKey": name}))
}
