//! The plugin worker pool: plain OS threads, apart from the async runtime, so a
//! CPU-bound plugin never stalls the HTTP API.

use std::thread;

use crossbeam_channel::{Sender, unbounded};

type Task = Box<dyn FnOnce() + Send + 'static>;

/// A fixed set of threads that run blocking tasks in order of submission.
pub struct WorkerPool {
    tasks: Sender<Task>,
    size: usize,
}

impl WorkerPool {
    /// Start `size` worker threads (at least one).
    pub fn new(size: usize) -> Self {
        let size = size.max(1);
        let (tasks, receiver) = unbounded::<Task>();
        for index in 0..size {
            let receiver = receiver.clone();
            thread::Builder::new()
                .name(format!("longrun-worker-{index}"))
                .spawn(move || {
                    for task in receiver {
                        task();
                    }
                })
                .expect("spawn a worker thread");
        }
        Self { tasks, size }
    }

    /// How many threads the pool has.
    pub fn size(&self) -> usize {
        self.size
    }

    /// Run `task` on the next free worker.
    pub fn execute(&self, task: impl FnOnce() + Send + 'static) {
        // The receivers live as long as the threads, which never exit while the
        // pool (and so this sender) exists.
        let _ = self.tasks.send(Box::new(task));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn runs_tasks_off_the_calling_thread() {
        let pool = WorkerPool::new(2);
        let (tx, rx) = std::sync::mpsc::channel();
        for i in 0..4 {
            let tx = tx.clone();
            pool.execute(move || {
                let name = thread::current().name().unwrap_or_default().to_owned();
                tx.send((i, name)).unwrap();
            });
        }
        let mut seen: Vec<_> = (0..4).map(|_| rx.recv().unwrap()).collect();
        seen.sort();
        assert_eq!(
            seen.iter().map(|(i, _)| *i).collect::<Vec<_>>(),
            [0, 1, 2, 3]
        );
        assert!(
            seen.iter()
                .all(|(_, name)| name.starts_with("longrun-worker-"))
        );
    }
}
