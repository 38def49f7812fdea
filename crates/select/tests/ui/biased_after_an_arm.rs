use nimsync_select::select;

fn main() {
    let (_tx, rx) = nimsync_channel::mpmc::channel::<u8>(1);
    select! {
        recv(rx) -> _ => (),
        biased;
    }
}
