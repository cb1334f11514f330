//! Small SVG charts. Hand-drawn rather than a charting crate: the ones that fit Yew either pull
//! a JavaScript library (blocked by the console's CSP, heavy to ship) or add hundreds of KB of
//! wasm for a few bars. Every chart carries a text equivalent for screen readers.

use yew::prelude::*;

/// One bar: a label, the total and the part of it that failed.
#[derive(Debug, Clone, PartialEq)]
pub struct Bar {
    pub label: String,
    pub total: u64,
    pub failed: u64,
}

#[derive(Properties, PartialEq)]
pub struct BarChartProps {
    pub bars: Vec<Bar>,
    /// Describes the chart for assistive technology.
    pub title: AttrValue,
}

const WIDTH: f64 = 240.0;
const HEIGHT: f64 = 48.0;

/// Bars of deploys per day, the failed part drawn on top in the failure colour.
#[function_component(BarChart)]
pub fn bar_chart(props: &BarChartProps) -> Html {
    let max = props.bars.iter().map(|b| b.total).max().unwrap_or(0).max(1) as f64;
    let slot = WIDTH / props.bars.len().max(1) as f64;
    let width = (slot * 0.8).max(1.0);
    let summary = props
        .bars
        .iter()
        .map(|b| format!("{}: {} deploys, {} failed", b.label, b.total, b.failed))
        .collect::<Vec<_>>()
        .join("; ");
    html! {
        <svg class="chart" viewBox={format!("0 0 {WIDTH} {HEIGHT}")} width={WIDTH.to_string()} height={HEIGHT.to_string()}
             role="img" aria-label={format!("{}. {summary}", props.title)}>
            <title>{props.title.clone()}</title>
            { for props.bars.iter().enumerate().map(|(i, bar)| {
                let x = i as f64 * slot;
                let total = bar.total as f64 / max * HEIGHT;
                let failed = bar.failed as f64 / max * HEIGHT;
                html! {
                    <g>
                        <rect class="bar" x={x.to_string()} y={(HEIGHT - total).to_string()} width={width.to_string()} height={total.to_string()}>
                            <title>{format!("{}: {} deploys, {} failed", bar.label, bar.total, bar.failed)}</title>
                        </rect>
                        <rect class="bar failed" x={x.to_string()} y={(HEIGHT - failed).to_string()} width={width.to_string()} height={failed.to_string()} />
                    </g>
                }
            }) }
        </svg>
    }
}

#[derive(Properties, PartialEq)]
pub struct MeterProps {
    /// 0.0 to 1.0.
    pub fraction: f64,
    pub label: AttrValue,
}

/// A horizontal meter for a rate.
#[function_component(RateMeter)]
pub fn rate_meter(props: &MeterProps) -> Html {
    let fraction = props.fraction.clamp(0.0, 1.0);
    html! {
        <svg class="meter" viewBox="0 0 100 8" width="100" height="8" role="img" aria-label={props.label.clone()}>
            <rect class="track" x="0" y="0" width="100" height="8" />
            <rect class="fill" x="0" y="0" width={(fraction * 100.0).to_string()} height="8" />
        </svg>
    }
}
