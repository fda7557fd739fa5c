//! An in-memory store that keeps insertion order, for newest-first lists with offsets or cursors.

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

    /// Newest-first items after the one with id `after` (all when `None`; none when unknown).
    pub fn newest_first_after<'a>(&'a self, after: Option<&str>) -> Box<dyn Iterator<Item = &'a T> + 'a> {
        match after {
            None => Box::new(self.newest_first()),
            Some(id) => match self.order.iter().position(|o| o == id) {
                Some(pos) => Box::new(self.order[..pos].iter().rev().filter_map(|id| self.items.get(id))),
                None => Box::new(std::iter::empty()),
            },
        }
    }

    /// Oldest-first items after the one with id `after`.
    pub fn oldest_first_after<'a>(&'a self, after: Option<&str>) -> Box<dyn Iterator<Item = &'a T> + 'a> {
        match after {
            None => Box::new(self.oldest_first()),
            Some(id) => match self.order.iter().position(|o| o == id) {
                Some(pos) => Box::new(self.order[pos + 1..].iter().filter_map(|id| self.items.get(id))),
                None => Box::new(std::iter::empty()),
            },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn orders_and_cursors() {
        let mut s = Store::default();
        for i in 0..5 {
            s.insert(format!("id{i}"), i);
        }
        s.insert("id2", 22);
        assert_eq!(s.len(), 5);
        assert_eq!(s.newest_first().copied().collect::<Vec<_>>(), [4, 3, 22, 1, 0]);
        assert_eq!(s.newest_first_after(Some("id3")).copied().collect::<Vec<_>>(), [22, 1, 0]);
        assert_eq!(s.oldest_first_after(Some("id3")).copied().collect::<Vec<_>>(), [4]);
        assert_eq!(s.newest_first_after(Some("nope")).count(), 0);
    }
}
