# bench_slurm.py's fan-out on Snakemake: `count` jobs of rule leaf, each writing a tiny
# file, gathered by rule all. Parallel to slurm_fanout.py. (The config key has two letters
# at least: Snakemake 9.27 refuses a one-letter --config key.)
COUNT = int(config.get("count", 1000))


rule all:
    input:
        expand("out/{i}.txt", i=range(COUNT)),


rule leaf:
    output:
        "out/{i}.txt",
    shell:
        "echo {wildcards.i} > {output}"
