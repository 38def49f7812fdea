use nimsync_select::select;

fn main() {
    select! {}
}
