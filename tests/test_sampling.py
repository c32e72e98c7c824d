import torch

from unshift.data import Domain, PairedBatches


def _domains():
    src = Domain(torch.arange(10.0)[:, None], torch.arange(10) % 2, "s")
    tgt = Domain(100 + torch.arange(7.0)[:, None], None, "t")
    return [src], [tgt]


def test_stream_is_a_pure_function_of_seed_and_count():
    straight = PairedBatches(*_domains(), batch_size=4, seed=3)
    batches = [straight.next() for _ in range(9)]
    resumed = PairedBatches(*_domains(), batch_size=4, seed=3)
    resumed.drawn = 5
    for i in range(5, 9):
        sources, targets = resumed.next()
        assert torch.equal(sources[0][0], batches[i][0][0][0])
        assert torch.equal(sources[0][1], batches[i][0][0][1])
        assert torch.equal(targets[0], batches[i][1][0])


def test_each_epoch_covers_the_domain_and_reshuffles():
    stream = PairedBatches(*_domains(), batch_size=5, seed=0)
    epoch1 = torch.cat([stream.next()[0][0][0] for _ in range(2)]).flatten()
    epoch2 = torch.cat([stream.next()[0][0][0] for _ in range(2)]).flatten()
    assert sorted(epoch1.tolist()) == list(range(10))
    assert sorted(epoch2.tolist()) == list(range(10))
    assert not torch.equal(epoch1, epoch2)


def test_labels_stay_paired_with_samples_and_targets_are_unlabelled():
    stream = PairedBatches(*_domains(), batch_size=4, seed=1)
    for _ in range(6):
        sources, targets = stream.next()
        (xs, ys), xt = sources[0], targets[0]
        assert torch.equal(ys, xs.flatten().long() % 2)
        assert xt.shape == (4, 1) and bool((xt >= 100).all())


def test_seeds_and_ranks_give_different_streams():
    base = PairedBatches(*_domains(), batch_size=4, seed=0).next()[0][0][0]
    other_seed = PairedBatches(*_domains(), batch_size=4, seed=1).next()[0][0][0]
    other_rank = PairedBatches(*_domains(), batch_size=4, seed=0, rank=1).next()[0][0][0]
    assert not torch.equal(base, other_seed)
    assert not torch.equal(base, other_rank)


def test_domain_smaller_than_batch_gives_whole_domain():
    stream = PairedBatches(*_domains(), batch_size=64, seed=0)
    sources, targets = stream.next()
    assert sources[0][0].shape[0] == 10 and targets[0].shape[0] == 7


def test_weighted_domains_draw_in_proportion_and_never_a_zero_weight_row():
    weights = torch.tensor([0.0, 1.0, 0.0, 3.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0])
    src = Domain(torch.arange(10.0)[:, None], torch.arange(10) % 2, "s", weights=weights)
    stream = PairedBatches([src], _domains()[1], batch_size=5, seed=0)
    drawn = torch.cat([stream.next()[0][0][0] for _ in range(400)]).flatten()
    assert set(drawn.tolist()) == {1.0, 3.0}
    assert abs(float((drawn == 3.0).float().mean()) - 0.75) < 0.03
    again = PairedBatches([src], _domains()[1], batch_size=5, seed=0)
    assert torch.equal(
        again.next()[0][0][0], PairedBatches([src], _domains()[1], 5, 0).next()[0][0][0]
    )
