//! An in-memory store that keeps insertion order, for newest-first (or oldest-first) lists.

use std::collections::HashMap;

/// Objects by id, in creation order.
#[derive(Debug, Clone)]
pub struct Store<T> {
    order: Vec<String>,
    items: HashMap<String, T>,
}

impl<T> Default for Store<T> {
    fn default() -> Self {
        Store { order: Vec::new(), items: HashMap::new() }
    }
}

impl<T> Store<T> {
    /// Adds (or replaces) an object.
    pub fn insert(&mut self, id: impl Into<String>, item: T) {
        let id = id.into();
        if self.items.insert(id.clone(), item).is_none() {
            self.order.push(id);
        }
    }

    /// An object by id.
    pub fn get(&self, id: &str) -> Option<&T> {
        self.items.get(id)
    }

    /// An object by id, to change.
    pub fn get_mut(&mut self, id: &str) -> Option<&mut T> {
        self.items.get_mut(id)
    }

    /// How many objects.
    pub fn len(&self) -> usize {
        self.order.len()
    }

    /// Whether empty.
    pub fn is_empty(&self) -> bool {
        self.order.is_empty()
    }

    /// Newest first.
    pub fn newest_first(&self) -> impl Iterator<Item = &T> {
        self.order.iter().rev().filter_map(|id| self.items.get(id))
    }

    /// Oldest first.
    pub fn oldest_first(&self) -> impl Iterator<Item = &T> {
        self.order.iter().filter_map(|id| self.items.get(id))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keeps_insertion_order() {
        let mut s = Store::default();
        for i in 0..5 {
            s.insert(format!("id{i}"), i);
        }
        s.insert("id2", 22);
        assert_eq!(s.len(), 5);
        assert_eq!(s.newest_first().copied().collect::<Vec<_>>(), [4, 3, 22, 1, 0]);
        assert_eq!(s.oldest_first().copied().collect::<Vec<_>>(), [0, 1, 22, 3, 4]);
        assert_eq!(s.get("id2"), Some(&22));
    }
}
