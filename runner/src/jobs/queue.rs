//! The queue of jobs waiting for a worker: first in, first out.

use std::collections::VecDeque;
use std::sync::Mutex;

use tokio::sync::Notify;

/// Ids of queued jobs, oldest first.
#[derive(Default)]
pub struct Queue {
    ids: Mutex<VecDeque<String>>,
    ready: Notify,
}

impl Queue {
    /// Add a job at the back.
    pub fn push(&self, id: String) {
        self.lock().push_back(id);
        self.ready.notify_one();
    }

    /// Take a job from the front, waiting for one if the queue is empty.
    pub async fn pop(&self) -> String {
        loop {
            let notified = self.ready.notified();
            if let Some(id) = self.lock().pop_front() {
                return id;
            }
            notified.await;
        }
    }

    /// Remove a job (it was canceled or deleted while queued).
    pub fn remove(&self, id: &str) {
        self.lock().retain(|queued| queued != id);
    }

    /// How many jobs wait.
    pub fn len(&self) -> usize {
        self.lock().len()
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, VecDeque<String>> {
        self.ids.lock().unwrap_or_else(|e| e.into_inner())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn first_in_first_out_and_removal() {
        let queue = Queue::default();
        queue.push("a".into());
        queue.push("b".into());
        queue.push("c".into());
        queue.remove("b");
        assert_eq!(queue.len(), 2);
        assert_eq!(queue.pop().await, "a");
        assert_eq!(queue.pop().await, "c");
        assert_eq!(queue.len(), 0);
    }

    #[tokio::test]
    async fn pop_waits_for_a_push() {
        let queue = std::sync::Arc::new(Queue::default());
        let waiter = tokio::spawn({
            let queue = queue.clone();
            async move { queue.pop().await }
        });
        tokio::task::yield_now().await;
        queue.push("late".into());
        assert_eq!(waiter.await.unwrap(), "late");
    }
}
