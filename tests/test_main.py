"""The README's main job, in quick mode: fit, summary, figure."""

from mixgraph.__main__ import main


def test_main_job_prints_summary_and_writes_figure(tmp_path, capsys):
    figure = tmp_path / "fit.png"
    main(["--quick", "--output", str(figure)])
    printed = capsys.readouterr().out
    assert "galaxies: 3-component Normal mixture, 82 velocities" in printed
    for name in ["w[0]", "mu[2]", "sigma[1]", "r_hat"]:
        assert name in printed
    assert figure.stat().st_size > 10_000
