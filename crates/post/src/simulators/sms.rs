//! An SMS gateway speaking LINK Mobility's `POST /sms/send` (see `adapters::sms`), for the demo
//! and the tests.
//!
//! It checks what the real gateway would refuse (a number that is not a Norwegian E.164 number,
//! a sender name over 11 characters, an empty text), keeps the first message for each `refId`
//! and counts any later one as a repeat, and can fail a share of the calls with 503 to exercise
//! retries. `GET /simulator/messages` lists what it received, as a JSON array, so that a shell
//! script can count with `jq length`.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use axum::extract::State;
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use serde::Serialize;

use crate::adapters::sms::{RESULT_QUEUED, SendRequest, SendResponse};

/// One SMS as the simulator received it. Synthetic data only: this is what the demo sends.
#[derive(Clone, PartialEq, Eq, Serialize)]
pub struct ReceivedSms {
    /// The simulator's id for it (`messageId` in the answer).
    pub message_id: String,
    /// The client's reference (`refId`), when given.
    pub reference: Option<String>,
    /// The sender shown.
    pub source: String,
    /// The recipient.
    pub destination: String,
    /// The text.
    pub text: String,
    /// How many times the same reference came again after the first.
    pub repeats: u32,
}

impl std::fmt::Debug for ReceivedSms {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ReceivedSms")
            .field("message_id", &self.message_id)
            .field("reference", &self.reference)
            .field("repeats", &self.repeats)
            .finish_non_exhaustive()
    }
}

/// How the simulator behaves.
#[derive(Debug, Clone, Default)]
pub struct SmsSimulatorOptions {
    /// The share of calls (0.0 to 1.0) answered 503 before anything is recorded.
    pub fail_rate: f64,
    /// The seed of the failure draws, so a run can be repeated; drawn from the OS when not given.
    pub seed: Option<u64>,
    /// The bearer token calls must carry; any token (or none) when not given.
    pub token: Option<String>,
}

/// The simulated gateway. Clones share the same state.
#[derive(Clone)]
pub struct SmsSimulator {
    state: Arc<Mutex<SimState>>,
    token: Option<Arc<str>>,
}

struct SimState {
    messages: Vec<ReceivedSms>,
    by_reference: HashMap<String, usize>,
    fail_rate: f64,
    rng: StdRng,
    failed: u64,
}

impl std::fmt::Debug for SmsSimulator {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let state = self.lock();
        f.debug_struct("SmsSimulator")
            .field("messages", &state.messages.len())
            .field("fail_rate", &state.fail_rate)
            .finish_non_exhaustive()
    }
}

impl Default for SmsSimulator {
    fn default() -> Self {
        SmsSimulator::new(SmsSimulatorOptions::default())
    }
}

impl SmsSimulator {
    /// A simulator with these options.
    pub fn new(options: SmsSimulatorOptions) -> Self {
        let rng = match options.seed {
            Some(seed) => StdRng::seed_from_u64(seed),
            None => StdRng::from_os_rng(),
        };
        SmsSimulator {
            state: Arc::new(Mutex::new(SimState {
                messages: Vec::new(),
                by_reference: HashMap::new(),
                fail_rate: options.fail_rate.clamp(0.0, 1.0),
                rng,
                failed: 0,
            })),
            token: options.token.map(Arc::from),
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, SimState> {
        // A panic while holding the lock cannot leave the state half-changed (every change is
        // one push or one increment), so a poisoned lock is still good.
        self.state.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// Every distinct SMS received, in order; repeats are counted on the first.
    pub fn messages(&self) -> Vec<ReceivedSms> {
        self.lock().messages.clone()
    }

    /// How many calls were failed on purpose.
    pub fn injected_failures(&self) -> u64 {
        self.lock().failed
    }

    /// Changes the share of calls that fail (for a test that takes the gateway "down" and up).
    pub fn set_fail_rate(&self, fail_rate: f64) {
        self.lock().fail_rate = fail_rate.clamp(0.0, 1.0);
    }

    /// The routes: `POST /sms/send` and `GET /simulator/messages`.
    pub fn router(&self) -> Router {
        Router::new().route("/sms/send", post(send)).route("/simulator/messages", get(list)).with_state(self.clone())
    }

    fn receive(&self, request: SendRequest) -> (StatusCode, SendResponse) {
        if let Err(problem) = validate(&request) {
            return (StatusCode::BAD_REQUEST, refusal(problem.0, problem.1));
        }
        let mut state = self.lock();
        let fail_rate = state.fail_rate;
        if fail_rate > 0.0 && state.rng.random::<f64>() < fail_rate {
            state.failed += 1;
            return (StatusCode::SERVICE_UNAVAILABLE, refusal(1000, "Simulated outage"));
        }
        if let Some(reference) = &request.ref_id
            && let Some(&index) = state.by_reference.get(reference)
        {
            let message = &mut state.messages[index];
            message.repeats += 1;
            let message_id = message.message_id.clone();
            return (StatusCode::OK, queued(message_id));
        }
        let message_id = uuid::Uuid::now_v7().to_string();
        let index = state.messages.len();
        if let Some(reference) = &request.ref_id {
            state.by_reference.insert(reference.clone(), index);
        }
        state.messages.push(ReceivedSms {
            message_id: message_id.clone(),
            reference: request.ref_id,
            source: request.source,
            destination: request.destination,
            text: request.user_data,
            repeats: 0,
        });
        (StatusCode::OK, queued(message_id))
    }
}

fn queued(message_id: String) -> SendResponse {
    SendResponse { message_id: Some(message_id), result_code: RESULT_QUEUED, description: "Queued".into() }
}

fn refusal(result_code: i32, description: &str) -> SendResponse {
    SendResponse { message_id: None, result_code, description: description.into() }
}

/// What the real gateway would refuse, as LINK-style result codes. The texts name the field,
/// never its value.
fn validate(request: &SendRequest) -> Result<(), (i32, &'static str)> {
    if !is_norwegian_e164(&request.destination) {
        return Err((1101, "Invalid destination: a Norwegian number in E.164 (+47 and eight digits) is expected"));
    }
    let sender_length = request.source.chars().count();
    if sender_length == 0 || sender_length > 11 {
        return Err((1102, "Invalid source: 1 to 11 characters"));
    }
    if request.user_data.trim().is_empty() {
        return Err((1103, "Invalid userData: empty"));
    }
    Ok(())
}

/// `+47` and eight digits, the first not 0 or 1.
pub fn is_norwegian_e164(number: &str) -> bool {
    let Some(digits) = number.strip_prefix("+47") else { return false };
    digits.len() == 8 && digits.chars().all(|c| c.is_ascii_digit()) && !digits.starts_with(['0', '1'])
}

async fn send(State(sim): State<SmsSimulator>, headers: HeaderMap, body: axum::body::Bytes) -> Response {
    if let Some(token) = &sim.token {
        let given = headers.get(header::AUTHORIZATION).and_then(|value| value.to_str().ok());
        if given.and_then(|value| value.strip_prefix("Bearer ")) != Some(&**token) {
            return (StatusCode::UNAUTHORIZED, Json(refusal(1401, "Unauthorized"))).into_response();
        }
    }
    let Ok(request) = serde_json::from_slice::<SendRequest>(&body) else {
        return (StatusCode::BAD_REQUEST, Json(refusal(1100, "The body is not a sendRequest"))).into_response();
    };
    let (status, answer) = sim.receive(request);
    (status, Json(answer)).into_response()
}

async fn list(State(sim): State<SmsSimulator>) -> Json<Vec<ReceivedSms>> {
    Json(sim.messages())
}

/// Serves the simulator on a listener the caller has bound (port 0 in tests).
pub async fn serve(listener: tokio::net::TcpListener, sim: SmsSimulator) -> std::io::Result<()> {
    axum::serve(listener, sim.router()).await
}

#[cfg(test)]
mod tests {
    use super::*;

    fn request(reference: &str) -> SendRequest {
        SendRequest {
            source: "Bergen".into(),
            source_ton: None,
            destination: "+4791234567".into(),
            destination_ton: None,
            user_data: "Du har fått brev".into(),
            platform_id: None,
            platform_partner_id: None,
            ref_id: Some(reference.into()),
            use_delivery_report: false,
        }
    }

    #[test]
    fn numbers() {
        assert!(is_norwegian_e164("+4791234567"));
        assert!(is_norwegian_e164("+4722334455"));
        assert!(!is_norwegian_e164("91234567"));
        assert!(!is_norwegian_e164("+4691234567"));
        assert!(!is_norwegian_e164("+479123456"));
        assert!(!is_norwegian_e164("+47912345678"));
        assert!(!is_norwegian_e164("+4701234567"));
        assert!(!is_norwegian_e164("+47912 4567"));
        assert!(!is_norwegian_e164("+47９1234567"));
    }

    #[test]
    fn a_repeat_is_counted_not_sent() {
        let sim = SmsSimulator::default();
        assert_eq!(sim.receive(request("a")).0, StatusCode::OK);
        assert_eq!(sim.receive(request("a")).0, StatusCode::OK);
        assert_eq!(sim.receive(request("b")).0, StatusCode::OK);
        let messages = sim.messages();
        assert_eq!(messages.len(), 2);
        assert_eq!(messages[0].repeats, 1);
        assert_eq!(messages[1].repeats, 0);
    }

    #[test]
    fn refusals_name_no_values() {
        let sim = SmsSimulator::default();
        let mut long_sender = request("c");
        long_sender.source = "Øvre Åsen kommune".into();
        let (status, answer) = sim.receive(long_sender);
        assert_eq!(status, StatusCode::BAD_REQUEST);
        assert!(!answer.description.contains("Åsen"));
        let mut empty = request("d");
        empty.user_data = "  ".into();
        assert_eq!(sim.receive(empty).0, StatusCode::BAD_REQUEST);
        assert!(sim.messages().is_empty());
    }

    #[test]
    fn failure_injection_is_repeatable_with_a_seed() {
        let run = || {
            let sim = SmsSimulator::new(SmsSimulatorOptions { fail_rate: 0.5, seed: Some(7), token: None });
            (0..40).map(|n| sim.receive(request(&n.to_string())).0.as_u16()).collect::<Vec<_>>()
        };
        let first = run();
        assert_eq!(first, run());
        assert!(first.contains(&503) && first.contains(&200), "{first:?}");
    }
}
