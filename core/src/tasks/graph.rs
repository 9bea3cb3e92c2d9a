//! Call-graph introspection: which task awaits which.

use std::fmt;

use crate::task::{all_tasks, current_task, TaskId, TaskRef};

/// A task and the chain of tasks awaiting it: asyncio's `FutureCallGraph`
/// (without the coroutine call stack, which Rust futures do not keep).
///
/// A task awaits another when it polls that task's [`Task`](crate::Task)
/// handle (directly, or through [`gather`](crate::gather()),
/// [`wait`](crate::wait), a [`TaskGroup`](crate::TaskGroup) join, ...).
///
/// # Examples
///
/// ```
/// # use anyloop_core::__doctest as anyloop;
/// # anyloop_core::doctest_run(async {
/// let child = anyloop::task::Builder::new().name("child").spawn(async {
///     anyloop::yield_now().await;
///     anyloop::capture_call_graph().unwrap().to_string()
/// });
/// let text = child.await.unwrap();
/// assert!(text.starts_with("* Task(name='child'"));
/// assert!(text.contains("+ Awaited by:\n    * Task(name='main'"));
/// # });
/// ```
#[doc(alias = "FutureCallGraph")]
#[doc(alias = "format_call_graph")]
#[derive(Debug, Clone)]
pub struct CallGraph {
    task: TaskRef,
    awaited_by: Vec<CallGraph>,
}

impl CallGraph {
    /// The graph of `task`: it, the task awaiting it, that task's awaiter, ...
    ///
    /// # Examples
    ///
    /// ```
    /// # use anyloop_core::__doctest as anyloop;
    /// # anyloop_core::doctest_run(async {
    /// let t = anyloop::spawn(std::future::pending::<()>());
    /// let g = anyloop::CallGraph::of(&t.task_ref());
    /// assert!(g.awaited_by().is_empty()); // nobody awaits it yet
    /// t.cancel();
    /// # });
    /// ```
    pub fn of(task: &TaskRef) -> CallGraph {
        let tasks = all_tasks();
        let mut chain = vec![task.clone()];
        while let Some(id) = chain.last().and_then(TaskRef::awaited_by) {
            // Stop on cycles (a task cannot await itself, but be safe).
            if chain.iter().any(|t| t.id() == id) {
                break;
            }
            match tasks.iter().find(|t| t.id() == id) {
                Some(t) => chain.push(t.clone()),
                None => break,
            }
        }
        let mut graph: Option<CallGraph> = None;
        for t in chain.into_iter().rev() {
            graph = Some(CallGraph {
                task: t,
                awaited_by: graph.into_iter().collect(),
            });
        }
        graph.unwrap_or_else(|| unreachable!("the chain holds at least `task`"))
    }

    /// The task this graph is about.
    ///
    /// # Examples
    ///
    /// ```
    /// # use anyloop_core::__doctest as anyloop;
    /// # anyloop_core::doctest_run(async {
    /// let g = anyloop::capture_call_graph().unwrap();
    /// assert_eq!(g.task().name(), Some("main"));
    /// # });
    /// ```
    pub fn task(&self) -> &TaskRef {
        &self.task
    }

    /// The graphs of the tasks awaiting [`task`](Self::task) (zero or one:
    /// a task has one handle).
    ///
    /// # Examples
    ///
    /// See [`CallGraph`].
    pub fn awaited_by(&self) -> &[CallGraph] {
        &self.awaited_by
    }

    /// The chain from this task to the outermost awaiter, as task ids.
    ///
    /// # Examples
    ///
    /// ```
    /// # use anyloop_core::__doctest as anyloop;
    /// # anyloop_core::doctest_run(async {
    /// let main = anyloop::current_task().unwrap().id();
    /// let t = anyloop::spawn(async {
    ///     anyloop::yield_now().await;
    ///     anyloop::capture_call_graph().unwrap().chain()
    /// });
    /// let me = t.id();
    /// assert_eq!(t.await.unwrap(), [me, main]);
    /// # });
    /// ```
    pub fn chain(&self) -> Vec<TaskId> {
        let mut out = vec![self.task.id()];
        let mut cur = self;
        while let Some(next) = cur.awaited_by.first() {
            out.push(next.task.id());
            cur = next;
        }
        out
    }

    fn write(&self, f: &mut fmt::Formatter<'_>, indent: usize) -> fmt::Result {
        let pad = " ".repeat(indent);
        match self.task.name() {
            Some(name) => writeln!(f, "{pad}* Task(name='{name}', id={})", self.task.id())?,
            None => writeln!(f, "{pad}* Task(id={})", self.task.id())?,
        }
        if !self.awaited_by.is_empty() {
            writeln!(f, "{pad}  + Awaited by:")?;
            for g in &self.awaited_by {
                g.write(f, indent + 4)?;
            }
        }
        Ok(())
    }
}

impl fmt::Display for CallGraph {
    /// asyncio's `format_call_graph` layout, without call stacks.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.write(f, 0)
    }
}

/// The call graph of the running task (asyncio's `capture_call_graph()`):
/// the task and the chain of tasks awaiting it. `None` outside a task.
///
/// # Examples
///
/// ```
/// # use anyloop_core::__doctest as anyloop;
/// # anyloop_core::doctest_run(async {
/// let g = anyloop::capture_call_graph().unwrap();
/// assert_eq!(g.to_string(), format!("* Task(name='main', id={})\n", g.task().id()));
/// # });
/// ```
pub fn capture_call_graph() -> Option<CallGraph> {
    current_task().map(|t| CallGraph::of(&t))
}

/// Prints the running task's call graph to standard output (asyncio's
/// `print_call_graph()`); prints nothing outside a task. Use
/// [`capture_call_graph`] and `Display` to send it elsewhere (in the
/// browser, standard output goes nowhere).
///
/// # Examples
///
/// ```
/// # use anyloop_core::__doctest as anyloop;
/// # anyloop_core::doctest_run(async {
/// anyloop::print_call_graph(); // * Task(name='main', id=1)
/// # });
/// ```
pub fn print_call_graph() {
    if let Some(g) = capture_call_graph() {
        print!("{g}");
    }
}
