//! Unpaged reads are streamed (spec 7): the answer is what paging through the same data gives,
//! in the same order, also past many chunks, for the summary and for a long user history.

use crate::support::{SEED, t};
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};
use ztrisk_server::testing::TestServer;

/// Pages of `path` (`per_page` items each) until one comes back short: the items in order.
async fn paged(server: &TestServer, path: &str, list: &str, per_page: u32) -> Vec<Value> {
    let mut all = Vec::new();
    for page in 1.. {
        let separator = if path.contains('?') { '&' } else { '?' };
        let (status, body) = server
            .admin_call(
                Method::GET,
                &format!("{path}{separator}page={page}&per_page={per_page}"),
                None,
            )
            .await;
        assert_eq!(status, StatusCode::OK, "{body}");
        let items = body["result"][list].as_array().cloned().unwrap_or_default();
        let done = items.len() < per_page as usize;
        all.extend(items);
        if done {
            break;
        }
    }
    all
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unpaged_reads_stream_what_paging_reads() {
    let server = TestServer::start().await;
    let (status, _) = server.put_behaviors(&server.admin, SEED).await;
    assert_eq!(status, StatusCode::OK);
    // 1,300 users (more than two chunks), and one user with 1,100 risk events.
    let mut events: Vec<Value> = (0..1300)
        .map(|i| {
            json!({"id": format!("u{i}"), "type": "behavior", "behavior": "foo",
                   "timestamp": t(i % 90), "user": {"email": format!("user{i}@example.com")}})
        })
        .collect();
    events.extend((0..1100).map(|i| {
        json!({"id": format!("h{i}"), "type": "behavior", "behavior": "foo",
               "timestamp": t(-i * 61), "user": {"email": "long@example.com"}})
    }));
    for batch in events.chunks(1000) {
        let (status, body) = server
            .admin_call(
                Method::POST,
                "/events",
                Some(&Value::from(batch.to_vec()).to_string()),
            )
            .await;
        assert_eq!(status, StatusCode::OK, "{body}");
    }

    for order in [
        "",
        "?order_by=event_count&direction=asc",
        "?order_by=timestamp",
    ] {
        let (status, whole) = server
            .admin_call(Method::GET, &format!("/summary{order}"), None)
            .await;
        assert_eq!(status, StatusCode::OK);
        assert!(
            whole.get("result_info").is_none(),
            "unpaged: no result_info"
        );
        let streamed = whole["result"]["users"]
            .as_array()
            .cloned()
            .unwrap_or_default();
        assert_eq!(streamed.len(), 1301);
        assert_eq!(
            streamed,
            paged(&server, &format!("/summary{order}"), "users", 1000).await
        );
    }

    let user = crate::support::user_by_email(&server, "long@example.com")
        .await
        .unwrap_or_else(|| panic!("no user"));
    let path = format!("/{}", user["user_id"].as_str().unwrap_or_default());
    let (status, whole) = server.admin_call(Method::GET, &path, None).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(whole["result"]["email"], "long@example.com");
    let streamed = whole["result"]["events"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    assert!(streamed.len() > 2 * 512, "{} events", streamed.len());
    assert_eq!(streamed, paged(&server, &path, "events", 1000).await);
    let (status, _) = server
        .admin_call(Method::GET, "/00000000-0000-4000-8000-000000000000", None)
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND);

    // Many at once: all complete (a few run, the others wait their turn).
    let calls = (0..12).map(|_| {
        let server = server.clone();
        tokio::spawn(async move { server.admin_call(Method::GET, "/summary", None).await })
    });
    for call in calls {
        let (status, body) = call.await.unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(status, StatusCode::OK);
        assert_eq!(body["result"]["users"].as_array().map(Vec::len), Some(1301));
    }
    server.shutdown().await;
}
