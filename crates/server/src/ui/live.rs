//! Server-sent events that keep pages live: the stream re-renders the page's live part every
//! few seconds (every second for a running instance) and sends it only when it changed, as an
//! `html` event the page's script swaps in. Reading the store rather than watching the engine
//! works on every node of a cluster and for any number of viewers.

use std::convert::Infallible;
use std::sync::Arc;
use std::time::Duration;

use axum::Extension;
use axum::extract::{Path, Query, State};
use axum::response::sse::{Event, KeepAlive, Sse};
use futures_util::Stream;
use tokio::sync::mpsc;
use vigil_core::principal::Role;
use vigil_core::team::ObjectKind;

use super::cache::Sparklines;
use super::overview::{self, OverviewQuery};
use super::session::Viewer;
use super::{UiResult, instances, monitors};
use crate::access::Access;
use crate::{ApiError, AppState};

const OVERVIEW_EVERY: Duration = Duration::from_secs(3);
const INSTANCE_EVERY: Duration = Duration::from_secs(1);
const MONITOR_EVERY: Duration = Duration::from_secs(2);

type Events = Sse<axum::response::sse::KeepAliveStream<tokio_stream_shim::Receiver>>;

/// `GET /ui/live/overview`.
pub async fn overview(
    State(app): State<AppState>,
    Extension(viewer): Extension<Viewer>,
    Extension(cache): Extension<Arc<Sparklines>>,
    Query(q): Query<OverviewQuery>,
) -> Events {
    stream(OVERVIEW_EVERY, move || {
        let (app, viewer, cache, q) = (app.clone(), viewer.clone(), cache.clone(), q.clone());
        async move { overview::fragment(&app, &viewer, &cache, &q).await.map(|m| (m.into_string(), false)) }
    })
}

/// `GET /ui/live/instances/{id}`: ends once the instance has ended.
pub async fn instance(
    State(app): State<AppState>,
    Extension(viewer): Extension<Viewer>,
    access: Access,
    Path(id): Path<String>,
) -> Events {
    let access = Arc::new(access);
    stream(INSTANCE_EVERY, move || {
        let (app, viewer, id, access) = (app.clone(), viewer.clone(), id.clone(), access.clone());
        async move {
            access.check_instance(&app, &id, Role::Read).await?;
            let i =
                app.engine.instance(&id).await.map_err(ApiError::from)?.ok_or_else(|| ApiError::not_found("gone"))?;
            let here = viewer.on_object(access.role_on_named(ObjectKind::Workflows, &i.workflow_name));
            Ok((instances::live_part(&app, &here, &i).into_string(), i.status.is_terminal()))
        }
    })
}

/// `GET /ui/live/monitors/{name}`: the beat bar and last check, as checks come.
pub async fn monitor(State(app): State<AppState>, access: Access, Path(name): Path<String>) -> Events {
    let access = Arc::new(access);
    stream(MONITOR_EVERY, move || {
        let (app, name, access) = (app.clone(), name.clone(), access.clone());
        async move {
            crate::monitors::owned_monitor(&app, &access, &name, Role::Read).await?;
            let m = app.engine.monitor(&name).await.ok_or_else(|| ApiError::not_found("gone"))?;
            let live = app.engine.monitor_relay().monitor_live(&name).await.unwrap_or_default();
            Ok((monitors::live_part(&m, &live.beats, app.engine.now()).into_string(), false))
        }
    })
}

/// Renders with `render` every `every`, sending what changed, until the client goes, `render`
/// fails, or it says it was the last.
fn stream<F, Fut>(every: Duration, render: F) -> Events
where
    F: Fn() -> Fut + Send + 'static,
    Fut: std::future::Future<Output = UiResult<(String, bool)>> + Send,
{
    let (tx, rx) = mpsc::channel::<Result<Event, Infallible>>(2);
    tokio::spawn(async move {
        let mut last = String::new();
        loop {
            tokio::time::sleep(every).await;
            let Ok((html, done)) = render().await else { return };
            if html != last {
                if tx.send(Ok(Event::default().event("html").data(html.as_str()))).await.is_err() {
                    return;
                }
                last = html;
            }
            if done {
                // The page's script closes the stream on `end` instead of reconnecting.
                let _ = tx.send(Ok(Event::default().event("end").data("ended"))).await;
                return;
            }
            if tx.is_closed() {
                return;
            }
        }
    });
    Sse::new(tokio_stream_shim::Receiver(rx)).keep_alive(KeepAlive::default())
}

/// A `Stream` over an mpsc receiver (what `tokio-stream`'s wrapper does, in a few lines).
mod tokio_stream_shim {
    use std::pin::Pin;
    use std::task::{Context, Poll};

    use super::*;

    /// The receiver as a stream.
    pub struct Receiver(pub mpsc::Receiver<Result<Event, Infallible>>);

    impl Stream for Receiver {
        type Item = Result<Event, Infallible>;

        fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
            self.0.poll_recv(cx)
        }
    }
}
