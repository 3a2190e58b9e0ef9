//! Items handed out in their order whatever order they arrive in, cheaply when most arrive in
//! order (events of a log, records of an export): the engine's wait for the watermark and
//! `replay`'s merge of files both hold events this way.

use std::cmp::Reverse;
use std::collections::{BinaryHeap, VecDeque};

/// Items arriving in order join the back of a queue, which costs no sifting; the others wait
/// in a heap; the earlier of the two fronts comes out first.
#[derive(Debug)]
pub struct ReorderBuffer<T> {
    in_order: VecDeque<T>,
    out_of_order: BinaryHeap<Reverse<T>>,
}

impl<T> Default for ReorderBuffer<T> {
    fn default() -> Self {
        Self { in_order: VecDeque::new(), out_of_order: BinaryHeap::new() }
    }
}

impl<T: Ord> ReorderBuffer<T> {
    /// Adds an item.
    pub fn push(&mut self, item: T) {
        if self.in_order.back().is_none_or(|last| *last <= item) {
            self.in_order.push_back(item);
        } else {
            self.out_of_order.push(Reverse(item));
        }
    }

    /// Whether the earliest item is the queue's (else the heap's).
    fn queue_first(&self) -> bool {
        match (self.in_order.front(), self.out_of_order.peek()) {
            (Some(q), Some(Reverse(h))) => q <= h,
            (q, _) => q.is_some(),
        }
    }

    /// The earliest item.
    pub fn peek(&self) -> Option<&T> {
        if self.queue_first() { self.in_order.front() } else { self.out_of_order.peek().map(|Reverse(p)| p) }
    }

    /// Takes the earliest item.
    pub fn pop(&mut self) -> Option<T> {
        if self.queue_first() { self.in_order.pop_front() } else { self.out_of_order.pop().map(|Reverse(p)| p) }
    }

    /// The items that arrived in order, earliest first: most likely what comes out next (an
    /// item that arrived out of order may come out between them). For hints such as warming
    /// the cache for the next items, never for decisions.
    pub fn upcoming(&self) -> impl Iterator<Item = &T> {
        self.in_order.iter()
    }

    /// Items held.
    pub fn len(&self) -> usize {
        self.in_order.len() + self.out_of_order.len()
    }

    /// Whether nothing is held.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Every item held, in no particular order.
    pub fn iter(&self) -> impl Iterator<Item = &T> {
        self.in_order.iter().chain(self.out_of_order.iter().map(|Reverse(p)| p))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn upcoming_lists_the_items_that_arrived_in_order() {
        let mut buffer = ReorderBuffer::default();
        for item in [1, 3, 2, 5, 4] {
            buffer.push(item);
        }
        // 2 and 4 came after a later item: they wait in the heap.
        assert_eq!(buffer.upcoming().copied().collect::<Vec<_>>(), vec![1, 3, 5]);
        assert_eq!(buffer.pop(), Some(1));
        assert_eq!(buffer.upcoming().next(), Some(&3), "a hint only");
        assert_eq!(buffer.peek(), Some(&2), "2 still comes out first");
    }

    #[test]
    fn items_come_out_in_order_however_they_arrive() {
        // In order, then late, then equal items (the later arrival after the earlier).
        let arrivals =
            [(1, 'b'), (2, 'a'), (3, 'c'), (2, 'b'), (3, 'a'), (5, 'x'), (1, 'a'), (5, 'x'), (4, 'z'), (6, 'a')];
        let mut expected: Vec<(u32, char, usize)> =
            arrivals.iter().enumerate().map(|(seq, (t, id))| (*t, *id, seq)).collect();
        expected.sort();
        let mut buffer = ReorderBuffer::default();
        let mut out = Vec::new();
        let mut take = |buffer: &mut ReorderBuffer<(u32, char, usize)>| {
            let peeked = buffer.peek().copied();
            let item = buffer.pop().expect("an item is held");
            assert_eq!(Some(item), peeked, "peek shows what pop takes");
            out.push(item.2);
        };
        for (seq, (t, id)) in arrivals.iter().enumerate() {
            buffer.push((*t, *id, seq));
            // Taking one early on, as a watermark passing the first items does.
            if seq == 2 {
                take(&mut buffer);
            }
        }
        assert_eq!(buffer.len(), arrivals.len() - 1);
        assert_eq!(buffer.iter().count(), arrivals.len() - 1);
        while !buffer.is_empty() {
            take(&mut buffer);
        }
        assert!(buffer.pop().is_none());
        // What left first was the earliest then; after it, the full order.
        assert_eq!(out[0], 0);
        let rest: Vec<usize> = expected.iter().map(|e| e.2).filter(|seq| *seq != 0).collect();
        assert_eq!(out[1..], rest[..]);
    }
}
