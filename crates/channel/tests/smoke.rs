//! Quick end-to-end checks of each flavor across threads.

use nimsync_channel::{mpmc, oneshot, spsc};

#[test]
fn spsc_moves_every_value_in_order() {
    let (mut tx, mut rx) = spsc::channel(3);
    let n: u64 = if cfg!(miri) { 200 } else { 200_000 };
    let t = std::thread::spawn(move || {
        for i in 0..n {
            tx.send(i).unwrap();
        }
    });
    for i in 0..n {
        assert_eq!(rx.recv(), Ok(i));
    }
    assert!(rx.recv().is_err());
    t.join().unwrap();
}

#[test]
fn mpmc_delivers_each_value_once() {
    let (tx, rx) = mpmc::channel(4);
    let per: u64 = if cfg!(miri) { 50 } else { 50_000 };
    let producers: Vec<_> = (0..3)
        .map(|p| {
            let tx = tx.clone();
            std::thread::spawn(move || {
                for i in 0..per {
                    tx.send(p * per + i).unwrap();
                }
            })
        })
        .collect();
    drop(tx);
    let consumers: Vec<_> = (0..3)
        .map(|_| {
            let rx = rx.clone();
            std::thread::spawn(move || rx.iter().collect::<Vec<u64>>())
        })
        .collect();
    drop(rx);
    for p in producers {
        p.join().unwrap();
    }
    let mut all: Vec<u64> = consumers
        .into_iter()
        .flat_map(|c| c.join().unwrap())
        .collect();
    all.sort_unstable();
    assert_eq!(all, (0..3 * per).collect::<Vec<_>>());
}

#[test]
fn oneshot_across_threads() {
    let (tx, rx) = oneshot::channel();
    std::thread::spawn(move || tx.send(5u8).unwrap());
    assert_eq!(rx.recv(), Ok(5));
}
