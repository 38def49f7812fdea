use nimsync_select::select;

fn main() {
    let (tx, _rx) = nimsync_channel::mpmc::channel::<u8>(1);
    select! {
        recv(tx) -> _ => (),
    }
}
