#pragma once
// The Slurm executor (`medsynbench run ... --executor slurm`, docs/cluster.md). Slurm is the
// engine: this file writes sbatch scripts, calls sbatch / squeue / scontrol and reads files; it
// schedules nothing itself.
//
// How a suite reaches Slurm. A unit's key holds the content hashes of its inputs (unit_store.h),
// so a stage can be described only once the units it reads exist. The planner (run_suite with a
// collecting store) therefore describes one wave at a time: every missing unit whose inputs are
// complete (unit.json beside each folder, units/<stage>/<folder>.unit.json). Per wave it submits
// one job array per stage and kind of node (CPU units; GPU units), each task running
// `medsynbench run-unit RUN_DIR <stage>/<folder>` for its units, and one "continue" job with
// --dependency=afterok on those arrays that runs the planner again: it submits the next wave and
// the next continue job, or, when nothing is missing, builds results.json and report/ (the final
// task). A wave of a single task (one array of one task) has no continue job: that task runs
// `run ... --slurm-continue --slurm-first-units UNIT...`, which computes its units and then plans,
// in one process (one Slurm dependency hop and one LibTorch start per such wave, not two). A failed or cancelled task leaves its dependants never runnable (--kill-on-invalid-dep),
// so the chain stops; `run --resume` later submits only what is missing.
//
// Files (RUN_DIR/slurm/): wave-NNN-<stage>[-gpu].units (unit ids, one a line), .sbatch (the
// array's script), continue-NNN.sbatch, logs/<script name>-<job>_<task>.out, jobs.jsonl (one line
// per submitted job: id, kind, stage, units, tasks, log pattern), failed.tsv (a task that saw
// run-unit fail: job_task, unit, log, exit code).
#include <cstdint>
#include <filesystem>
#include <iosfwd>
#include <optional>
#include <string>
#include <vector>

#include "medsyn/suites/unit_store.h"

namespace medsyn::suites {

struct SlurmOptions {
  std::string partition, account, time, mem;  // "" = the cluster's default
  std::string extra;                           // more sbatch arguments, given to every sbatch as typed
  int cpus = 0;                                // --cpus-per-task of unit tasks; 0 = not requested
  int gpus = 1;                                // GPUs per task of a unit that runs on a cuda device
  int max_array = 0;                           // at most this many tasks per array (units packed); 0 = one per unit
  bool wait = false;                           // follow the jobs until results.json or a failure
  bool dry_run = false;                        // write the scripts, print the job graph, submit nothing
  bool continuation = false;                   // this process is a "continue" job (internal)
};

// Does the unit run on a GPU? A unit that records a cuda device (train, native or trained
// generation, memorization, downstream, compute) or a features unit with a TorchScript
// extractor on a cuda device. Folder and command generation, builtin extractors: no.
bool unit_needs_gpu(const UnitDescription& d);

// Why RUN_DIR looks node-local (/tmp, /var/tmp, /dev/shm, /run or a tmpfs): "" when it does not.
std::string node_local_reason(const std::filesystem::path& dir);

// The job name every job of a run folder carries (squeue -n finds them).
std::string slurm_job_name(const std::filesystem::path& run_dir);

// What the planner hands the executor: the run (for the continue job's command line) and the wave.
struct SlurmWave {
  std::filesystem::path run_dir;         // absolute
  std::vector<std::string> run_args;     // the `run` arguments a continue job repeats (suite, --out, ...)
  bool resume = false;                   // run-unit --resume (a partial training unit continues)
  std::vector<UnitDescription> units;    // pending, in planning order (one array per stage and kind of node)
  std::vector<std::string> later_stages; // the stages this wave and later ones work on (for the job graph)
};

struct SlurmSubmission {
  std::vector<std::string> job_ids;  // arrays then the continue job ("" entries in a dry run)
  std::string graph;                 // the job graph, as printed
};

// Writes the wave's scripts and (unless dry_run) submits them. Error when sbatch fails.
SlurmSubmission submit_wave(const SlurmWave& wave, const SlurmOptions& o);

// The ids of the run's jobs Slurm still lists as pending or running (squeue -n).
std::vector<std::string> active_slurm_jobs(const std::filesystem::path& run_dir);

// Byte size of RUN_DIR/slurm/jobs.jsonl now: the jobs of a submission are the lines after it.
std::uintmax_t jobs_log_offset(const std::filesystem::path& run_dir);

// --wait: follows the run's jobs (squeue; scontrol for a failed job's state) and prints per-stage
// progress on `out` until no job of the run is left. 0 when results.json exists (the submission
// removed any older one), 1 when a unit (or a continue job) failed: `failure` then names the
// unit, its Slurm job id and its log file.
int wait_for_slurm_run(const std::filesystem::path& run_dir, std::uintmax_t jobs_offset, double poll_seconds, std::ostream& out,
                       std::string& failure);

}  // namespace medsyn::suites
