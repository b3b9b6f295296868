//! What `/proc` says: CPU time of the driver, of the server under load and of the whole machine
//! (the host shares its cores with the driver, and on a shared machine with whatever else runs),
//! a process's peak memory, and the machine itself.
//!
//! Every reader returns `None` where `/proc` is missing (not Linux): the figures then go without.

use std::time::Instant;

use serde::{Deserialize, Serialize};

/// The kernel reports process CPU time in `USER_HZ` ticks, 100 per second on every Linux ABI.
const USER_HZ: f64 = 100.0;

/// User plus system CPU seconds of a process (`None`: this process).
pub fn cpu_seconds(pid: Option<u32>) -> Option<f64> {
    let path = match pid {
        Some(pid) => format!("/proc/{pid}/stat"),
        None => "/proc/self/stat".to_owned(),
    };
    parse_stat_cpu(&std::fs::read_to_string(path).ok()?)
}

/// utime + stime from a `/proc/PID/stat` line, in seconds. The command name may hold spaces
/// and parentheses, so fields are counted after its last `)`.
fn parse_stat_cpu(stat: &str) -> Option<f64> {
    let after = &stat[stat.rfind(')')? + 1..];
    let fields: Vec<&str> = after.split_whitespace().collect();
    // After the name: state is field 3 of the line, utime 14 and stime 15.
    let utime: f64 = fields.get(11)?.parse().ok()?;
    let stime: f64 = fields.get(12)?.parse().ok()?;
    Some((utime + stime) / USER_HZ)
}

/// Busy and total ticks of all CPUs together (the `cpu` line of `/proc/stat`).
fn machine_ticks() -> Option<(f64, f64)> {
    parse_machine_ticks(&std::fs::read_to_string("/proc/stat").ok()?)
}

fn parse_machine_ticks(stat: &str) -> Option<(f64, f64)> {
    let line = stat.lines().find(|line| line.starts_with("cpu "))?;
    let ticks: Vec<f64> = line
        .split_whitespace()
        .skip(1)
        .filter_map(|n| n.parse().ok())
        .collect();
    // user nice system idle iowait irq softirq steal ...: idle and iowait are not busy.
    let total: f64 = ticks.iter().take(8).sum();
    let idle = ticks.get(3)? + ticks.get(4).unwrap_or(&0.0);
    Some((total - idle, total))
}

/// A `kB` line of `/proc/PID/status` (`VmHWM`, `VmRSS`) in MiB.
pub fn status_mb(pid: u32, field: &str) -> Option<f64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    parse_status_kb(&status, field).map(|kb| kb / 1024.0)
}

fn parse_status_kb(status: &str, field: &str) -> Option<f64> {
    let line = status
        .lines()
        .find(|line| line.split(':').next() == Some(field))?;
    line.split_whitespace().nth(1)?.parse().ok()
}

/// CPU use over one phase, in percent of one core (200 is both cores of a 2-core machine).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Cpu {
    /// The driver (and whatever it serves in-process: the baseline, the send API stand-in).
    pub driver_pct: Option<f64>,
    /// The server under load (the host, every host of a session together, or Node-RED; not
    /// PostgreSQL's own processes, which count under `machine_pct`).
    pub server_pct: Option<f64>,
    /// Every process of the machine; what the driver and server do not explain is someone else.
    pub machine_pct: Option<f64>,
}

/// Measures [`Cpu`] between `start` and `stop`.
pub struct CpuMeter {
    started: Instant,
    driver: Option<f64>,
    /// The servers' processes and their CPU seconds so far (`None`: none, or one unreadable).
    server: Option<(Vec<u32>, f64)>,
    machine: Option<(f64, f64)>,
}

/// The CPU seconds of all of `pids` together; `None` if one cannot be read.
fn total_cpu_seconds(pids: &[u32]) -> Option<f64> {
    pids.iter().map(|pid| cpu_seconds(Some(*pid))).sum()
}

impl CpuMeter {
    /// Starts measuring the driver, the machine, and the servers `server_pids` together.
    pub fn start(server_pids: &[u32]) -> CpuMeter {
        CpuMeter {
            started: Instant::now(),
            driver: cpu_seconds(None),
            server: (!server_pids.is_empty())
                .then(|| Some((server_pids.to_vec(), total_cpu_seconds(server_pids)?)))
                .flatten(),
            machine: machine_ticks(),
        }
    }

    pub fn stop(&self) -> Cpu {
        let wall = self.started.elapsed().as_secs_f64().max(1e-9);
        let pct = |before: f64, after: f64| Some(((after - before) / wall * 100.0).max(0.0));
        let cores = std::thread::available_parallelism().map_or(1.0, |n| n.get() as f64);
        Cpu {
            driver_pct: self
                .driver
                .zip(cpu_seconds(None))
                .and_then(|(a, b)| pct(a, b)),
            server_pct: self
                .server
                .as_ref()
                .and_then(|(pids, before)| pct(*before, total_cpu_seconds(pids)?)),
            machine_pct: self.machine.zip(machine_ticks()).and_then(
                |((busy0, total0), (busy1, total1))| {
                    let total = total1 - total0;
                    (total > 0.0).then(|| (busy1 - busy0) / total * 100.0 * cores)
                },
            ),
        }
    }
}

/// The machine a report was measured on.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Machine {
    pub nproc: usize,
    pub cpu_model: Option<String>,
    pub kernel: Option<String>,
    pub memory_mb: Option<f64>,
}

impl Machine {
    pub fn read() -> Machine {
        let read = |path: &str| std::fs::read_to_string(path).ok();
        Machine {
            nproc: std::thread::available_parallelism().map_or(1, |n| n.get()),
            cpu_model: read("/proc/cpuinfo").and_then(|info| {
                info.lines()
                    .find(|line| line.starts_with("model name"))
                    .and_then(|line| line.split_once(':'))
                    .map(|(_, model)| model.trim().to_owned())
            }),
            kernel: read("/proc/sys/kernel/osrelease").map(|k| k.trim().to_owned()),
            memory_mb: read("/proc/meminfo")
                .and_then(|info| parse_status_kb(&info, "MemTotal"))
                .map(|kb| kb / 1024.0),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stat_lines_are_read_after_the_command_name() {
        let line = "4242 (tokio (x) 1) S 1 4242 4242 0 -1 4194560 100 0 0 0 250 50 0 0 20 0 9 0";
        assert_eq!(parse_stat_cpu(line), Some(3.0));
        assert!(cpu_seconds(None).is_some());
    }

    #[test]
    fn machine_ticks_leave_out_idle_and_iowait() {
        let stat = "cpu  100 0 50 800 50 0 0 0 0 0\ncpu0 1 2 3 4\n";
        assert_eq!(parse_machine_ticks(stat), Some((150.0, 1000.0)));
    }

    #[test]
    fn status_fields_are_read_in_kb() {
        let status = "Name:\tswitchboard\nVmHWM:\t  204800 kB\nVmRSS:\t  102400 kB\n";
        assert_eq!(parse_status_kb(status, "VmHWM"), Some(204_800.0));
        assert_eq!(parse_status_kb(status, "VmPeak"), None);
        assert!(status_mb(std::process::id(), "VmHWM").is_some());
    }
}
