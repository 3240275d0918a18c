"""`import stitch` (src/python/module.cpp) under Debian's /usr/bin/python3: Gymnasium-style envs
and spaces, vector envs with same-step autoreset, datasets as numpy (round trip checked with
h5py), and errors raised as stitch.Error with the CLI's messages. Run by ctest (label unit) with
PYTHONPATH=build/python."""
import os
import signal
import tempfile
import threading
import unittest

import h5py
import numpy as np

import stitch


class Envs(unittest.TestCase):
    def test_spaces_and_spec(self):
        env = stitch.make("pendulum-v1")
        self.assertIn("pendulum-v1", stitch.envs())
        self.assertEqual(env.spec.id, "pendulum-v1")
        self.assertEqual(env.spec.max_episode_steps, 200)
        obs_space, act_space = env.observation_space, env.action_space
        self.assertEqual(obs_space.shape, (3,))
        self.assertEqual(obs_space.dtype, np.float32)
        np.testing.assert_array_equal(act_space.low, [-2.0])
        np.testing.assert_array_equal(act_space.high, [2.0])
        self.assertIsNone(act_space.n)
        act_space.seed(1)
        for _ in range(20):
            self.assertTrue(act_space.contains(act_space.sample()))
        self.assertFalse(act_space.contains(np.array([3.0], dtype=np.float32)))
        self.assertFalse(act_space.contains(np.zeros(2, dtype=np.float32)))
        cart = stitch.make("cartpole-v1")
        self.assertEqual(cart.action_space.n, 2)
        self.assertEqual(cart.action_space.shape, ())
        self.assertTrue(cart.action_space.contains(1))
        self.assertFalse(cart.action_space.contains(2))

    def test_reset_and_step_follow_gymnasium(self):
        env = stitch.make("hopper-v4")
        obs, info = env.reset(seed=3)
        self.assertEqual(obs.shape, (11,))
        self.assertEqual(obs.dtype, np.float32)
        self.assertIsInstance(info, dict)
        obs2, reward, terminated, truncated, info = env.step(np.zeros(3, dtype=np.float32))
        self.assertEqual(obs2.shape, (11,))
        self.assertIsInstance(reward, float)
        self.assertIsInstance(terminated, bool)
        self.assertIsInstance(truncated, bool)
        self.assertIn("cost", info)
        # float64 and list actions are converted
        env.step(np.zeros(3))
        env.step([0.1, 0.0, -0.1])

    def test_same_seed_same_trajectory(self):
        def rollout(seed):
            env = stitch.make("pendulum-v1")
            obs, _ = env.reset(seed=seed)
            out = [obs]
            for t in range(50):
                out.append(env.step(np.array([np.sin(t)], dtype=np.float32))[0])
            return np.stack(out)

        np.testing.assert_array_equal(rollout(7), rollout(7))
        self.assertFalse(np.array_equal(rollout(7), rollout(8)))

    def test_bad_input_raises_with_the_cli_message(self):
        env = stitch.make("pendulum-v1")
        with self.assertRaisesRegex(stitch.Error, "before reset|reset"):
            env.step(np.zeros(1, dtype=np.float32))
        env.reset(seed=0)
        with self.assertRaisesRegex(stitch.Error, r"expected shape \(1,\)"):
            env.step(np.zeros(2, dtype=np.float32))
        with self.assertRaisesRegex(stitch.Error, "action\\[0\\] is nan"):
            env.step(np.array([np.nan], dtype=np.float32))
        with self.assertRaisesRegex(stitch.Error, "unknown env id 'nope-v0'"):
            stitch.make("nope-v0")
        self.assertTrue(issubclass(stitch.Error, ValueError))


class VectorEnvs(unittest.TestCase):
    def test_vector_env_matches_single_envs_and_autoresets(self):
        n, seed, steps = 3, 11, 200  # pendulum truncates at 200 steps
        vec = stitch.make_vec("pendulum-v1", num_envs=n, threads=2)
        self.assertEqual(vec.num_envs, n)
        self.assertEqual(vec.single_action_space.shape, (1,))
        obs, _ = vec.reset(seed=seed)
        self.assertEqual(obs.shape, (n, 3))
        singles = [stitch.make("pendulum-v1") for _ in range(n)]
        first = [s.reset(seed=seed + i)[0] for i, s in enumerate(singles)]
        np.testing.assert_array_equal(obs, np.stack(first))  # env i is seeded with seed + i
        for t in range(steps):
            actions = np.full((n, 1), np.cos(t), dtype=np.float32)
            obs, rewards, terminated, truncated, infos = vec.step(actions)
            expected = [s.step(actions[i]) for i, s in enumerate(singles)]
            np.testing.assert_allclose(rewards, [e[1] for e in expected], rtol=0, atol=0)
            if t + 1 < steps:
                np.testing.assert_array_equal(obs, np.stack([e[0] for e in expected]))
                self.assertFalse(truncated.any())
        # The last step ended every episode: the final observations are the singles' last ones,
        # and obs already holds the next episode's first observation.
        self.assertTrue(truncated.all())
        self.assertFalse(terminated.any())
        np.testing.assert_array_equal(infos["final_observation"], np.stack([e[0] for e in expected]))
        self.assertFalse(np.array_equal(obs, infos["final_observation"]))

    def test_bad_actions(self):
        vec = stitch.make_vec("hopper-v4", num_envs=2)
        vec.reset(seed=0)
        with self.assertRaisesRegex(stitch.Error, r"expected shape \(2, 3\)"):
            vec.step(np.zeros((3, 3), dtype=np.float32))


class Datasets(unittest.TestCase):
    def setUp(self):
        self.dir = tempfile.mkdtemp(prefix="stitch_py_")

    def data(self, n=30):
        rng = np.random.default_rng(0)
        terminals = np.zeros(n, dtype=bool)
        timeouts = np.zeros(n, dtype=bool)
        terminals[9] = True
        timeouts[n - 1] = True
        return {
            "observations": rng.normal(size=(n, 3)).astype(np.float32),
            "actions": rng.uniform(-2, 2, size=(n, 1)).astype(np.float32),
            "rewards": rng.normal(size=n).astype(np.float32),
            "terminals": terminals,
            "timeouts": timeouts,
            "metadata": {"env_id": "pendulum-v1", "note": "from python", "scale": 2.5},
        }

    def test_round_trip_through_h5py(self):
        path = os.path.join(self.dir, "d.hdf5")
        src = self.data()
        stitch.save_dataset(path, src)
        with h5py.File(path, "r") as f:  # an independent reader sees the same arrays
            np.testing.assert_array_equal(f["observations"][:], src["observations"])
            np.testing.assert_array_equal(f["actions"][:], src["actions"])
            np.testing.assert_array_equal(f["rewards"][:], src["rewards"])
            np.testing.assert_array_equal(f["terminals"][:].astype(bool), src["terminals"])
            np.testing.assert_array_equal(f["timeouts"][:].astype(bool), src["timeouts"])
        back = stitch.load_dataset(path)
        for key in ("observations", "actions", "rewards", "terminals", "timeouts"):
            np.testing.assert_array_equal(back[key], src[key])
        # next observations derived from the following rows within each episode
        np.testing.assert_array_equal(back["next_observations"][0], src["observations"][1])
        self.assertEqual(back["metadata"]["env_id"], "pendulum-v1")
        # D4RL's qlearning_dataset: the time-out row (the last) and the row without a recorded
        # successor (the same one here) are left out; terminal rows stay.
        q = stitch.qlearning_dataset(back)
        self.assertEqual(sorted(q), ["actions", "next_observations", "observations", "rewards",
                                     "terminals"])
        self.assertEqual(len(q["rewards"]), 29)
        self.assertTrue(q["terminals"][9])
        np.testing.assert_array_equal(q["next_observations"][3], src["observations"][4])
        self.assertEqual(back["metadata"]["scale"], 2.5)
        with self.assertRaisesRegex(stitch.Error, "exists"):
            stitch.save_dataset(path, src)
        stitch.save_dataset(path, src, force=True)
        minari = os.path.join(self.dir, "m")
        stitch.save_dataset(minari, src, layout="minari")
        np.testing.assert_array_equal(stitch.load_dataset(minari)["actions"], src["actions"])

    def test_bad_data_is_an_error_naming_the_key_and_row(self):
        src = self.data()
        src["rewards"][4] = np.nan
        path = os.path.join(self.dir, "bad.hdf5")
        with self.assertRaisesRegex(stitch.Error, "'rewards'.*row 4|row 4.*'rewards'"):
            stitch.save_dataset(path, src)
        self.assertFalse(os.path.exists(path))
        src = self.data()
        src["actions"] = src["actions"][:10]
        with self.assertRaisesRegex(stitch.Error, "'actions' must be"):
            stitch.save_dataset(path, src)
        with self.assertRaisesRegex(stitch.Error, "no such file|not found|does not exist"):
            stitch.load_dataset(os.path.join(self.dir, "missing.hdf5"))


class Training(unittest.TestCase):
    def test_train_a_few_hundred_steps_then_load_the_run_and_its_policy(self):
        work = tempfile.mkdtemp(prefix="stitch_py_train_")
        # A small pendulum dataset from the Python env itself: a noisy swing-up heuristic.
        env = stitch.make("pendulum-v1")
        rng = np.random.default_rng(1)
        obs_l, act_l, rew_l, term_l, tout_l = [], [], [], [], []
        for episode in range(5):
            obs, _ = env.reset(seed=episode)
            done = False
            while not done:
                action = np.clip([-2.0 * obs[2] + rng.normal()], -2, 2).astype(np.float32)
                nxt, reward, terminated, truncated, _ = env.step(action)
                obs_l.append(obs), act_l.append(action), rew_l.append(reward)
                term_l.append(terminated), tout_l.append(truncated)
                obs, done = nxt, terminated or truncated
        path = os.path.join(work, "pend.hdf5")
        stitch.save_dataset(path, {
            "observations": np.array(obs_l, np.float32), "actions": np.array(act_l, np.float32),
            "rewards": np.array(rew_l, np.float32), "terminals": np.array(term_l),
            "timeouts": np.array(tout_l), "metadata": {"env_id": "pendulum-v1"}})
        run_dir = os.path.join(work, "run")
        result = stitch.train("iql", dataset=path, env="pendulum-v1", steps=300, eval_every=0,
                              eval_episodes=2, log_every=100, checkpoint_every=300,
                              run_dir=run_dir, set={"iql.hidden": 32})
        self.assertEqual(result["steps"], 300)
        self.assertEqual(len(result["evaluations"]), 1)
        self.assertEqual(len(result["evaluations"][0]["returns"]), 2)
        run = stitch.load_run(run_dir)
        self.assertEqual(run["algo"], "iql")
        self.assertEqual(run["status"], "finished")
        np.testing.assert_array_equal(run["evaluations"]["step"], [300])
        self.assertAlmostEqual(run["evaluations"]["mean"][0], result["evaluations"][0]["mean"])
        policy = stitch.Policy.from_checkpoint(result["checkpoint"])
        self.assertEqual((policy.obs_dim, policy.act_dim), (3, 1))
        action = policy.act(np.zeros(3, np.float32))
        self.assertEqual(action.shape, (1,))
        self.assertTrue(np.all(np.abs(action) <= 2.0))
        batch = policy.act(np.zeros((4, 3), np.float32))
        np.testing.assert_array_equal(batch[0], action)
        file = os.path.join(work, "iql.policy")
        policy.save(file)
        np.testing.assert_array_equal(stitch.Policy.load(file).act(np.ones(3)), policy.act(np.ones(3)))
        # Fine-tuning online from the checkpoint: evaluated before its first env step.
        tuned = stitch.finetune(result["checkpoint"], "iql", env="pendulum-v1", steps=400,
                                dataset=path, eval_every=200, eval_episodes=2,
                                checkpoint_every=400, run_dir=os.path.join(work, "ft"))
        self.assertEqual([e["step"] for e in tuned["evaluations"]], [0, 200, 400])
        with self.assertRaisesRegex(stitch.Error, "calql fine-tunes only calql or cql"):
            stitch.finetune(result["checkpoint"], "calql", env="pendulum-v1")
        # The CLI's errors, as exceptions.
        with self.assertRaisesRegex(stitch.Error, "unknown config key 'nope'"):
            stitch.train("iql", dataset=path, env="pendulum-v1", nope=1)
        with self.assertRaisesRegex(stitch.Error, "expected shape \\(3,\\)"):
            policy.act(np.zeros(5, np.float32))

        # Ctrl-C stops training with a checkpoint (KeyboardInterrupt); resume finishes the run.
        long_run = os.path.join(work, "long")
        timer = threading.Timer(0.5, lambda: os.kill(os.getpid(), signal.SIGINT))
        timer.start()
        with self.assertRaisesRegex(KeyboardInterrupt, "training stopped at step"):
            stitch.train("iql", dataset=path, env="pendulum-v1", steps=30000, eval_every=0,
                         eval_episodes=1, log_every=10000, checkpoint_every=30000,
                         run_dir=long_run, set={"iql.hidden": 16})
        timer.join()
        stopped = stitch.load_run(long_run)
        self.assertEqual(stopped["status"], "stopped")
        self.assertLess(stopped["steps"], 30000)
        self.assertTrue(os.path.exists(os.path.join(long_run, "checkpoints", "latest.pt")))
        self.assertEqual(stitch.resume(long_run)["steps"], 30000)
        self.assertEqual(stitch.load_run(long_run)["status"], "finished")


if __name__ == "__main__":
    unittest.main()
