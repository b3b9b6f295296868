//! The open loop: webhooks sent on a fixed schedule (request `i` at `start + i / rate`), each
//! on a connection of its own task, whatever the server's answers do. Unlike a closed loop, a
//! slow server cannot slow the client down, so a backlog shows up as a backlog instead of as a
//! lower request rate.
//!
//! Connections are kept alive and reused; a request opens a new one when none is idle, up to
//! `max_connections` (then it waits, and the wait is counted: the server holds that many
//! webhooks unanswered). The dispatcher records how late it dispatched against the schedule,
//! so a driver starved of CPU is told apart from a slow host.
//!
//! Against several hosts request `i` goes to host `i % n` (round robin, as a load balancer
//! would), each host with idle connections of its own; `max_connections` caps them all together.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::sync::Semaphore;
use tokio::task::JoinHandle;
use tokio::time::Instant;

use super::bodies::Signed;
use super::customers::Customers;
use super::http::{self, Connection, Targets};

/// Time between dispatching the schedule and its first request, so the first is not late.
const LEAD: Duration = Duration::from_millis(20);
/// A wait for a connection longer than this is counted.
const CONNECTION_WAIT: Duration = Duration::from_millis(1);

/// How one webhook of the schedule went.
#[derive(Debug, Clone, Copy)]
pub struct Outcome {
    pub customer: u64,
    pub sent: Instant,
    pub answered: Instant,
    /// The HTTP status, or `None` for a transport failure.
    pub status: Option<u16>,
    /// Whether it waited for a connection (all `max_connections` were busy).
    pub waited: bool,
}

impl Outcome {
    pub fn accepted(&self) -> bool {
        self.status.is_some_and(|s| (200..300).contains(&s))
    }
}

/// A schedule that has been dispatched: its requests may still be in flight.
pub struct Dispatched {
    pub rate: f64,
    /// When the first request was due.
    pub started: Instant,
    /// When the schedule ends: `started + n / rate`.
    pub ends: Instant,
    pub max_dispatch_lag: Duration,
    tasks: Vec<JoinHandle<Outcome>>,
}

impl Dispatched {
    /// Requests not yet answered (or failed), right now.
    pub fn in_flight(&self) -> u64 {
        self.tasks.iter().filter(|task| !task.is_finished()).count() as u64
    }

    /// Waits for every request (up to `timeout` in all); those still running are left out.
    pub async fn outcomes(self, timeout: Duration) -> (Vec<Outcome>, u64) {
        let deadline = Instant::now() + timeout;
        let mut outcomes = Vec::with_capacity(self.tasks.len());
        let mut unanswered = 0;
        for task in self.tasks {
            match tokio::time::timeout_at(deadline, task).await {
                Ok(Ok(outcome)) => outcomes.push(outcome),
                Ok(Err(_)) | Err(_) => unanswered += 1,
            }
        }
        (outcomes, unanswered)
    }
}

/// The connections a schedule shares.
struct Pool {
    targets: Arc<Targets>,
    /// Idle connections, by target.
    idle: Vec<Mutex<Vec<Connection>>>,
    slots: Semaphore,
}

impl Pool {
    fn take_idle(&self, target: usize) -> Option<Connection> {
        let mut idle = self.idle[target].lock().unwrap_or_else(|e| e.into_inner());
        while let Some(connection) = idle.pop() {
            if !connection.is_closed() {
                return Some(connection);
            }
        }
        None
    }

    fn give_back(&self, target: usize, connection: Connection) {
        self.idle[target]
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .push(connection);
    }
}

/// Dispatches `bodies` at `rate` per second and returns once the last is dispatched.
pub async fn run(
    targets: Arc<Targets>,
    bodies: Arc<[Signed]>,
    rate: f64,
    max_connections: usize,
    customers: Arc<Customers>,
) -> Dispatched {
    let pool = Arc::new(Pool {
        idle: targets.iter().map(|_| Mutex::new(Vec::new())).collect(),
        targets,
        slots: Semaphore::new(max_connections),
    });
    let started = Instant::now() + LEAD;
    let due = |i: usize| started + Duration::from_secs_f64(i as f64 / rate);
    let mut max_dispatch_lag = Duration::ZERO;
    let mut tasks = Vec::with_capacity(bodies.len());
    for i in 0..bodies.len() {
        let at = due(i);
        if at > Instant::now() {
            tokio::time::sleep_until(at).await;
        }
        max_dispatch_lag = max_dispatch_lag.max(Instant::now().saturating_duration_since(at));
        tasks.push(tokio::spawn(request(
            pool.clone(),
            bodies.clone(),
            i,
            customers.clone(),
        )));
    }
    Dispatched {
        rate,
        started,
        ends: due(bodies.len()),
        max_dispatch_lag,
        tasks,
    }
}

async fn request(
    pool: Arc<Pool>,
    bodies: Arc<[Signed]>,
    i: usize,
    customers: Arc<Customers>,
) -> Outcome {
    let signed = &bodies[i];
    let asked = Instant::now();
    let _permit = pool
        .slots
        .acquire()
        .await
        .expect("the semaphore is never closed");
    let waited = asked.elapsed() > CONNECTION_WAIT;
    let which = i % pool.targets.len();
    let target = pool.targets.turn(which);
    let connection = match pool.take_idle(which) {
        Some(connection) => Ok(connection),
        None => http::connect(target.addr).await,
    };
    let sent = Instant::now();
    customers.sent(signed.customer, sent);
    let fail = |sent| Outcome {
        customer: signed.customer,
        sent,
        answered: Instant::now(),
        status: None,
        waited,
    };
    let Ok(mut connection) = connection else {
        return fail(sent);
    };
    match http::exchange(&mut connection, target.webhook(signed)).await {
        Ok(status) => {
            let answered = Instant::now();
            pool.give_back(which, connection);
            Outcome {
                customer: signed.customer,
                sent,
                answered,
                status: Some(status.as_u16()),
                waited,
            }
        }
        Err(_) => fail(sent),
    }
}
